"""Loading a full-size instrument master: time and peak memory of the daily load, run by hand.

    .venv/bin/python bench/instrument_master.py --instruments 120000 --rounds 2

Kite's real dump lists about 100,000 to 130,000 instruments (most of them NFO
options). This script writes a dump of `--instruments` rows in Kite's CSV
format (the layout of brokers/tests/adapters/zerodha/resources/instruments.csv:
equities, then futures and options of synthetic underlyings), serves it to the
real kiteconnect SDK through `responses` (no network), and runs the product's
`brokers.instruments.instruments_refresh` against a fresh PostgreSQL bench
database, once per round. Round 1 inserts every row; later rounds are the
daily steady state (every row updated in place, none dropped). Each round
prints its wall time and the process's peak RSS so far; the RSS before the
first load (Django, the SDK and the dump itself) is printed first, so the
load's own memory is the difference.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from benchdb import database_recreate  # noqa: E402  (bench/ is the script's own folder)

REPO = Path(__file__).resolve().parent.parent
HEADER = ("instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,"
          "instrument_type,segment,exchange\n")


def dump(count: int) -> bytes:
    """`count` rows: 5% NSE equities, then per underlying one future and 100 strikes of calls and puts."""
    out = io.StringIO()
    out.write(HEADER)
    equities = count // 20
    for number in range(equities):
        out.write(f"{100000 + number},{number},EQ{number:06d},COMPANY {number},0,,0,0.05,1,EQ,NSE,NSE\n")
    token, underlying, expiry = 200000, 0, date(2026, 12, 29)
    written = equities
    while written < count:
        name = f"UND{underlying:04d}"
        out.write(f"{token},{token},{name}26DECFUT,{name},0,{expiry},0,0.1,50,FUT,NFO-FUT,NFO\n")
        token, written = token + 1, written + 1
        for strike in range(1000, 1000 + 50 * 100, 50):
            for kind in ("CE", "PE"):
                if written >= count:
                    break
                out.write(f"{token},{token},{name}26DEC{strike}{kind},{name},0,{expiry},{strike},0.05,50,{kind},"
                          "NFO-OPT,NFO\n")
                token, written = token + 1, written + 1
        underlying += 1
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instruments", type=int, default=120000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/budhitrade_bench_instruments")
    parser.add_argument("--state-dir", default="/tmp/budhitrade-bench-instruments")
    args = parser.parse_args()

    database_recreate(args.database_url)
    os.environ.update(DATABASE_URL=args.database_url, BUDHITRADE_STATE_DIR=args.state_dir,
                      DJANGO_SETTINGS_MODULE="budhitrade.settings.base", LOG_LEVEL="WARNING")
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    import responses
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from brokers.calendar import IST
    from brokers.instruments import instruments_refresh
    from brokers.models import BrokerConnection, BrokerInstrument

    call_command("migrate", verbosity=0, interactive=False)
    body = dump(args.instruments)
    print(f"dump: {args.instruments} instruments, {len(body) / 1e6:.1f} MB of CSV")
    user = get_user_model().objects.create(username="bench-instruments")
    connection = BrokerConnection.objects.create(user=user, broker="zerodha", account_id="ZB0001", status="connected",
                                                 credentials={"api_key": "benchkey", "api_secret": "s"},
                                                 session={"access_token": "benchtoken"})
    morning = datetime(2026, 12, 1, 8, 45, tzinfo=IST)
    print(f"RESULT before_load_peak_rss_mb={peak_rss_mb():.0f}")
    with responses.RequestsMock() as wire:
        wire.add("GET", "https://api.kite.trade/instruments", body=body, content_type="text/csv")
        for round_number in range(1, args.rounds + 1):
            started = time.perf_counter()
            loaded = instruments_refresh(connection=connection, now=morning + timedelta(days=round_number - 1))
            seconds = time.perf_counter() - started
            stored = BrokerInstrument.objects.filter(broker="zerodha").count()
            print(f"RESULT round={round_number} loaded={loaded} stored={stored} seconds={seconds:.2f} "
                  f"peak_rss_mb={peak_rss_mb():.0f}")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
