"""Benchmark (c) of issue 12: one minute's snapshot capture for NIFTY and BANKNIFTY from the paper market.

    .venv/bin/python bench/snapshot_capture.py --days 5 --rounds 30

A bench database is dropped, created and migrated; the paper market opens
`--days` trading days before Fri 27 Nov 2026 and runs to that day's 10:00 IST
without capturing, so its listing has the strikes a week of sessions adds
(each open lists strikes around that day's spot). Then, for `--rounds`
minutes from 10:00, the market is advanced a minute (not timed) and
`analytics.capture.snapshot_capture` runs as the beat's task runs it (timed:
reading the chains, IV and greeks, the upsert of every row, the commit). The
same minute is then captured again (the replace path, timed apart). It prints
the median, p90 and worst capture, each as a fraction of the 60 s a capture
must fit in (target: median under 5%), the rows a capture writes, and a
split of one extra capture into its read, pricing and write.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchdb import database_recreate  # noqa: E402  (bench/ is the script's own folder)

LAST_DAY = date(2026, 11, 27)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/budhitrade_bench_capture")
    parser.add_argument("--state-dir", default="/tmp/budhitrade-bench-capture")
    args = parser.parse_args()

    database_recreate(args.database_url)
    os.environ.update(DATABASE_URL=args.database_url, BUDHITRADE_STATE_DIR=args.state_dir,
                      DJANGO_SETTINGS_MODULE="budhitrade.settings.base", LOG_LEVEL="WARNING")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    from analytics import capture, sources
    from analytics.models import FutureSnapshot, OptionSnapshot
    from brokers.calendar import IST
    from brokers.paper import catalogue, market

    call_command("migrate", verbosity=0, interactive=False)
    first = LAST_DAY
    for _ in range(args.days - 1):
        first = catalogue.previous_trading_day(first)
    market.market_create(start=catalogue.session_bounds(first)[0])
    start = datetime.combine(LAST_DAY, datetime.min.time(), IST).replace(hour=10)
    market.market_advance(to=start)

    fresh, again = [], []
    for minute in range(args.rounds):
        moment = start + timedelta(minutes=minute)
        market.market_advance(to=moment)
        began = time.perf_counter()
        written = capture.snapshot_capture(at=moment)
        fresh.append(time.perf_counter() - began)
        began = time.perf_counter()
        capture.snapshot_capture(at=moment)
        again.append(time.perf_counter() - began)

    moment = start + timedelta(minutes=args.rounds)
    market.market_advance(to=moment)
    began = time.perf_counter()
    chains = sources.paper_chains(underlyings=capture.underlyings())
    read = time.perf_counter() - began
    rows = [row for chain in chains for row in capture._option_rows(chain, capture.minute_bucket(moment), "paper")]
    priced = time.perf_counter() - began - read
    capture.chains_capture(chains, at=moment, source="paper")
    total = time.perf_counter() - began

    print(f"RESULT days={args.days} rounds={args.rounds} options={written.options} futures={written.futures} "
          f"stored_options={OptionSnapshot.objects.count()} stored_futures={FutureSnapshot.objects.count()}")
    for name, values in (("capture", fresh), ("recapture", again)):
        median = statistics.median(values)
        print(f"RESULT {name} median_ms={median * 1e3:.1f} p90_ms={percentile(values, 0.9) * 1e3:.1f} "
              f"max_ms={max(values) * 1e3:.1f} median_share_of_minute={median / 60:.4%} "
              f"worst_share_of_minute={max(values) / 60:.4%}")
    # chains_capture prices again before it writes: the write is what it took beyond the pricing measured above.
    print(f"RESULT split read_ms={read * 1e3:.1f} pricing_ms={priced * 1e3:.1f} "
          f"write_ms={(total - read - 2 * priced) * 1e3:.1f} option_rows={len(rows)}")


if __name__ == "__main__":
    main()
