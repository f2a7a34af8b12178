"""Benchmark (b) of issue 12: the six F&O analytics endpoints on one day of snapshots and on five, run by hand.

    .venv/bin/python bench/analytics_endpoints.py --rounds 20 --batch 10

Two bench databases are dropped, created and migrated: one holds the last of
five trading days of one-minute snapshots for NIFTY and BANKNIFTY (about
400,000 option rows), the other all five (about 2,000,000: NIFTY 4 weekly
expiries x 80 strikes, BANKNIFTY 3 monthlies x 70 strikes, calls and puts,
375 buckets a day; and 3 futures contracts each). Rows are written by
INSERT ... SELECT over generate_series in PostgreSQL (prices from a smooth spot
path and a smile; the values only need to look like a chain), then VACUUM
ANALYZE. The latest bucket is the same in both (Fri 27 Nov 2026, 15:29 IST),
so every request asks the same question of both.

One Django process per database (this script with `--serve`) answers requests
through the whole stack in-process (`django.test.Client`: middleware, JWT,
DRF, rendering; no socket), one at a time. Before measuring, each request's
answer is checked to be identical on both sizes. Then, for `--rounds`
rounds, each endpoint gets `--batch` requests on one size and then on the
other (the order alternating every round), cycling through that endpoint's
variants, so both sizes see the same background load on a shared machine.
It prints p50 and p99 per endpoint and size, and the p99 ratio (five days
over one); the target is a ratio of at most 1.5.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from benchdb import database_recreate  # noqa: E402  (bench/ is the script's own folder)

DAYS = [date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)]
# underlying -> (spot base, strike step, strikes listed, expiries listed, weekly?)
CHAINS = {"NIFTY": (26000, 50, 80, 4, True), "BANKNIFTY": (59000, 100, 70, 3, False)}
# 09:50 IST on the last day, Unix seconds: a bucket_time in its history.
MORNING = int(datetime(2026, 11, 27, 4, 20, tzinfo=timezone.utc).timestamp())
VARIANTS = {
    "strike-distribution": ["/fo/strike-distribution?symbol=NIFTY&timeframe=5min&indicator=iv",
                            "/fo/strike-distribution?symbol=BANKNIFTY&indicator=oi_change",
                            "/fo/strike-distribution?symbol=NIFTY&indicator=pcr"
                            "&expiry[]=2026-12-01&expiry[]=2026-12-08",
                            f"/fo/strike-distribution?symbol=NIFTY&indicator=delta&bucket_time={MORNING}"],
    "moneyness-series": ["/fo/moneyness-series?symbol=NIFTY&timeframe=5min&indicator=iv",
                         "/fo/moneyness-series?symbol=BANKNIFTY&timeframe=1min&indicator=premium_abs",
                         "/fo/moneyness-series?symbol=NIFTY50&timeframe=15min&indicator=pcr&option_side=put"],
    "chain-summary": ["/fo/chain-summary?symbol=NIFTY", "/fo/chain-summary?symbol=BANKNIFTY",
                      "/fo/chain-summary?symbol=NIFTY&expiry=2026-12-15"],
    "straddle-series": ["/fo/straddle-series?symbol=NIFTY&timeframe=1min",
                        "/fo/straddle-series?symbol=BANKNIFTY&timeframe=5min"],
    "position-signals": ["/futures/position-signals?symbol=NIFTY&timeframe=5min",
                         "/futures/position-signals?symbol=BANKNIFTY&timeframe=1min"],
    "rollover-metrics": ["/futures/rollover-metrics?symbol=NIFTY", "/futures/rollover-metrics?symbol=BANKNIFTY"],
}

_OPTIONS_SQL = """
INSERT INTO analytics_optionsnapshot (underlying, expiry, strike, option_type, bucket, tradingsymbol, ltp, bid, ask,
    volume, oi, underlying_price, future_price, iv, delta, gamma, theta, vega, source)
SELECT c.underlying, c.expiry, s.strike, t.side, b.bucket,
       c.underlying || to_char(c.expiry, 'YYMMDD') || s.strike::int || t.side,
       p.ltp, greatest(p.ltp - 0.05, 0.05), p.ltp + 0.05,
       m.minute * 40 + k.i, 1000 + (k.i * 7919 + m.minute * 31 + c.position * 101) %% 50000,
       round(f.spot::numeric, 2), round(f.forward::numeric, 2), v.iv,
       CASE WHEN t.side = 'CE' THEN v.d ELSE v.d - 1 END, v.g, -v.g * f.forward * v.iv / 365, v.g * f.forward / 100,
       'bench'
FROM unnest(%(days)s::date[], %(underlyings)s::text[], %(expiries)s::date[], %(bases)s::float8[],
            %(steps)s::int[], %(counts)s::int[], %(positions)s::int[])
     AS c(day, underlying, expiry, base, step, n, position)
CROSS JOIN LATERAL generate_series(0, 374) AS m(minute)
CROSS JOIN LATERAL (SELECT ((c.day + time '09:15') + m.minute * interval '1 minute') AT TIME ZONE 'Asia/Kolkata'
                    AS bucket) AS b
CROSS JOIN LATERAL (SELECT greatest(extract(epoch FROM ((c.expiry + time '15:30') AT TIME ZONE 'Asia/Kolkata')
                                    - b.bucket) / 31536000.0, 1e-6) AS years) AS y
CROSS JOIN LATERAL (SELECT c.base * (1 + 0.006 * sin(extract(epoch FROM b.bucket) / 4000.0)) AS spot) AS sp
CROSS JOIN LATERAL (SELECT sp.spot, sp.spot * (1 + 0.065 * y.years) AS forward) AS f
CROSS JOIN LATERAL generate_series(0, c.n - 1) AS k(i)
CROSS JOIN LATERAL (SELECT (c.base - c.step * (c.n / 2) + c.step * k.i)::numeric AS strike) AS s
CROSS JOIN (VALUES ('CE'), ('PE')) AS t(side)
CROSS JOIN LATERAL (SELECT 0.12 + 2 * ln(s.strike::float8 / f.forward) ^ 2 AS iv) AS w
CROSS JOIN LATERAL (SELECT w.iv, least(greatest(ln(f.forward / s.strike::float8) / (w.iv * sqrt(y.years)), -20), 20)
                           AS z) AS v0
CROSS JOIN LATERAL (SELECT v0.iv, 0.5 + 0.5 * tanh(v0.z) AS d,
                           exp(-0.5 * v0.z * v0.z) / (f.forward * v0.iv * sqrt(y.years) * 2.5066) AS g) AS v
CROSS JOIN LATERAL (SELECT round((greatest(CASE WHEN t.side = 'CE' THEN f.forward - s.strike::float8
                                                ELSE s.strike::float8 - f.forward END, 0)
                                  + f.forward * v.iv * sqrt(y.years) * 0.4 * exp(-0.5 * v0.z * v0.z)
                                  + 0.05)::numeric, 2) AS ltp) AS p
"""

_FUTURES_SQL = """
INSERT INTO analytics_futuresnapshot (underlying, contract, expiry, bucket, open, high, low, close, volume, oi,
    underlying_price, source)
SELECT c.underlying, c.underlying || upper(to_char(c.expiry, 'YYMON')) || 'FUT', c.expiry, b.bucket,
       round(f.price::numeric, 2), round((f.price * 1.0004)::numeric, 2), round((f.price * 0.9996)::numeric, 2),
       round((f.price * (1 + 0.0002 * sin(m.minute))) ::numeric, 2), m.minute * 900 + 100,
       (5000000 / (c.position + 1)) + ((m.minute * 7919 + c.position * 13) %% 20000) - 10000,
       round(f.spot::numeric, 2), 'bench'
FROM unnest(%(days)s::date[], %(underlyings)s::text[], %(expiries)s::date[], %(bases)s::float8[],
            %(positions)s::int[]) AS c(day, underlying, expiry, base, position)
CROSS JOIN LATERAL generate_series(0, 374) AS m(minute)
CROSS JOIN LATERAL (SELECT ((c.day + time '09:15') + m.minute * interval '1 minute') AT TIME ZONE 'Asia/Kolkata'
                    AS bucket) AS b
CROSS JOIN LATERAL (SELECT c.base * (1 + 0.006 * sin(extract(epoch FROM b.bucket) / 4000.0)) AS spot) AS sp
CROSS JOIN LATERAL (SELECT sp.spot, sp.spot * (1 + 0.065 * greatest(
    extract(epoch FROM ((c.expiry + time '15:30') AT TIME ZONE 'Asia/Kolkata') - b.bucket) / 31536000.0, 0))
    AS price) AS f
"""


def _contracts(days: list[date]) -> tuple[dict, dict]:
    """The option chains and futures listed each day, as the INSERTs' arrays."""
    from brokers.options import monthly_expiries, weekly_expiry

    options = {key: [] for key in ("days", "underlyings", "expiries", "bases", "steps", "counts", "positions")}
    futures = {key: [] for key in ("days", "underlyings", "expiries", "bases", "positions")}
    for day in days:
        for underlying, (base, step, count, listed, weekly) in CHAINS.items():
            if weekly:
                first = weekly_expiry(day)
                expiries = [date.fromordinal(first.toordinal() + 7 * n) for n in range(listed)]
            else:
                expiries = monthly_expiries(day, listed)
            for position, expiry in enumerate(expiries):
                for key, value in zip(options, (day, underlying, expiry, base, step, count, position)):
                    options[key].append(value)
            for position, expiry in enumerate(monthly_expiries(day, 3)):
                for key, value in zip(futures, (day, underlying, expiry, base, position)):
                    futures[key].append(value)
    return options, futures


def database_fill(database_url: str, days: list[date]) -> dict:
    """Migrate the bench database and write the snapshots of `days`; their row counts."""
    import psycopg

    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "budhitrade.settings.base"}
    env.pop("REDIS_URL", None)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    options, futures = _contracts(days)
    started = time.perf_counter()
    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True) as db:
        # A bulk load: the option table's indexes are dropped and built again afterwards, as migrated.
        table = "analytics_optionsnapshot"
        indexes = db.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                             "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                             (table, table)).fetchall()
        constraints = db.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                                 "%s::regclass AND contype IN ('u', 'p')", (table,)).fetchall()
        for name, _definition in constraints:
            db.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            db.execute(f'DROP INDEX "{name}"')
        db.execute(_OPTIONS_SQL, options)
        for name, definition in constraints:
            db.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in indexes:
            db.execute(definition)
        db.execute(_FUTURES_SQL, futures)
        db.execute("VACUUM ANALYZE analytics_optionsnapshot")
        db.execute("VACUUM ANALYZE analytics_futuresnapshot")
        counts = {table: db.execute(f"SELECT count(*) FROM analytics_{table}").fetchone()[0]
                  for table in ("optionsnapshot", "futuresnapshot")}
        size = db.execute("SELECT pg_size_pretty(pg_total_relation_size('analytics_optionsnapshot'))").fetchone()[0]
    return {**counts, "option_table_size": size, "seconds": round(time.perf_counter() - started, 1)}


# --- the serving side: one process per database ---------------------------------------------------------------

def serve() -> None:
    """Answer `{"variant": url, "n": k}` lines on stdin with each request's status and seconds (or its body)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "budhitrade.settings.base")
    os.environ.update(LOG_LEVEL="WARNING", RATE_LIMIT_USER_PER_MINUTE=str(10**9))
    os.environ.pop("REDIS_URL", None)
    import types

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import include, path
    from rest_framework_simplejwt.tokens import AccessToken

    import budhitrade.urls

    if not any(getattr(getattr(item, "urlconf_name", None), "__name__", "") == "analytics.urls"
               for item in budhitrade.urls.urlpatterns):
        # Until budhitrade/urls.py includes analytics.urls, route it here.
        urls = types.ModuleType("bench_analytics_urls")
        urls.urlpatterns = [*budhitrade.urls.urlpatterns, path("", include("analytics.urls"))]
        sys.modules[urls.__name__] = urls
        settings.ROOT_URLCONF = urls.__name__
    user, _ = get_user_model().objects.get_or_create(username="bench-analytics")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    for line in sys.stdin:
        ask = json.loads(line)
        if ask.get("body"):
            response = client.get(ask["variant"])
            print(json.dumps({"status": response.status_code, "body": response.content.decode()}), flush=True)
            continue
        timings = []
        for _ in range(ask["n"]):
            started = time.perf_counter()
            response = client.get(ask["variant"])
            timings.append((response.status_code, time.perf_counter() - started))
        print(json.dumps({"timings": timings}), flush=True)


class Server:
    """A `--serve` process on one bench database."""

    def __init__(self, database_url: str):
        env = {**os.environ, "DATABASE_URL": database_url}
        self.process = subprocess.Popen([sys.executable, __file__, "--serve"], cwd=REPO, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def ask(self, **request) -> dict:
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3, help="requests of each variant before measuring")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/budhitrade_bench_analytics",
                        help="the five-day database; the one-day one adds _1day to its name")
    parser.add_argument("--reuse", action="store_true", help="measure the databases a previous run filled")
    args = parser.parse_args()
    if args.serve:
        serve()
        return

    sizes = {"1 day": (args.database_url + "_1day", DAYS[-1:]), "5 days": (args.database_url, DAYS)}
    for label, (url, days) in sizes.items():
        if args.reuse:
            print(f"{label}: reusing {url}")
            continue
        database_recreate(url)
        print(f"{label}: {database_fill(url, days)}", flush=True)
    servers = {label: Server(url) for label, (url, _days) in sizes.items()}
    try:
        for endpoint, variants in VARIANTS.items():
            for variant in variants:
                answers = {label: server.ask(variant=variant, body=True) for label, server in servers.items()}
                statuses = {answer["status"] for answer in answers.values()}
                same = len({answer["body"] for answer in answers.values()}) == 1
                print(f"check {variant}: status {statuses}, same answer on both sizes: {same}, "
                      f"{len(answers['5 days']['body'])} bytes", flush=True)
                if statuses != {200} or not same:
                    sys.exit(f"{variant} must answer 200 alike on both sizes: {answers['5 days']['body'][:300]}")
                for server in servers.values():
                    server.ask(variant=variant, n=args.warmup)
        timings = {(endpoint, label): [] for endpoint in VARIANTS for label in servers}
        by_variant = {(variant, label): [] for variants in VARIANTS.values() for variant in variants
                      for label in servers}
        started = time.perf_counter()
        for round_number in range(args.rounds):
            order = list(servers) if round_number % 2 == 0 else list(servers)[::-1]
            for endpoint, variants in VARIANTS.items():
                variant = variants[round_number % len(variants)]
                for label in order:
                    answer = servers[label].ask(variant=variant, n=args.batch)
                    assert {status for status, _seconds in answer["timings"]} == {200}, answer
                    timings[(endpoint, label)].extend(seconds for _status, seconds in answer["timings"])
                    by_variant[(variant, label)].extend(seconds for _status, seconds in answer["timings"])
        print(f"measured in {time.perf_counter() - started:.0f} s: {args.rounds} rounds x {args.batch} requests "
              f"per endpoint and size\n")
    finally:
        for server in servers.values():
            server.stop()
    print("| endpoint | requests | p50 1 day ms | p99 1 day ms | p50 5 days ms | p99 5 days ms | p99 ratio |")
    print("|---|---|---|---|---|---|---|")
    for endpoint in VARIANTS:
        one, five = timings[(endpoint, "1 day")], timings[(endpoint, "5 days")]
        ratio = percentile(five, 0.99) / percentile(one, 0.99)
        print(f"| {endpoint} | {len(five)} | {statistics.median(one) * 1000:.1f} | {percentile(one, 0.99) * 1000:.1f} "
              f"| {statistics.median(five) * 1000:.1f} | {percentile(five, 0.99) * 1000:.1f} | {ratio:.2f} |")
    print("\n| request | requests | p50 1 day ms | p99 1 day ms | p50 5 days ms | p99 5 days ms |")
    print("|---|---|---|---|---|---|")
    for variants in VARIANTS.values():
        for variant in variants:
            one, five = by_variant[(variant, "1 day")], by_variant[(variant, "5 days")]
            print(f"| `{variant}` | {len(five)} | {statistics.median(one) * 1000:.1f} | "
                  f"{percentile(one, 0.99) * 1000:.1f} | {statistics.median(five) * 1000:.1f} | "
                  f"{percentile(five, 0.99) * 1000:.1f} |")


if __name__ == "__main__":
    main()
