"""Settings for bench/positions_throughput.py: the product's settings plus one plain view's URL."""

import os

from budhitrade.settings.base import *  # noqa: F403
from budhitrade.settings.base import DATABASES, MIDDLEWARE

ROOT_URLCONF = "bench.plain_urls"

# `--conn-max-age`: under daphne every request runs in a thread of its own, so a
# persistent connection is never reused and stays open until garbage collection.
if os.environ.get("BENCH_CONN_MAX_AGE"):
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ["BENCH_CONN_MAX_AGE"])

# `--profile`: layer timers or cProfile in daphne's request thread, outermost.
if os.environ.get("BENCH_PROFILE"):
    MIDDLEWARE = ["bench.positions_throughput.RequestProfileMiddleware", *MIDDLEWARE]
