"""Benchmark: the market socket's fan-out (issue 11 (a)) beside a bare `websockets` floor (b), in one run.

Run by hand from the repository root, with the machine's PostgreSQL up (Redis is a private one this script
starts from the venv, so INFO commandstats counts this run alone):

    .venv/bin/python bench/market_fanout.py                 # 250 and 1,000 clients, floor then BudhiTrade
    .venv/bin/python bench/market_fanout.py --dry           # a small run of both sides: 20 clients, 50 instruments
    .venv/bin/python bench/market_fanout.py --sides floor   # the floor alone

Each run drops, creates and migrates `budhitrade_bench_market`, opens the paper market there (its listing gives
the instruments: `--instruments` of them, equities and F&O contracts, at their listed prices) and makes
`--users` users, each with a JWT. For each client count and side in turn:
- (a) `budhitrade`: `manage.py serve --web-only --web-processes 2` (two daphne on one socket, as production),
  on the private Redis. The ticks do not come from the market-feed process: the paper market moves each
  instrument once a second, not 2,000 ticks a second over 500, so a driver process calls the feed's own publish
  (brokers/market/feed_publish.ticks_publish: one script call a batch: per web process an HMGET of its want
  hash and one PUBLISH of the ticks it wants, and an HSET of the last values) with the feed's `market_data` shape, after announcing the paper stream up as the
  feed does. Clients open `/ws/market/<client_id>?token=<JWT>` and send seed 002's subscribe.
- (b) `floor`: bench/market_floor.py's bare `websockets` server, one process, the same ticks made in-process and
  broadcast to the sockets of each tick's instrument.
Clients run in `--client-processes` processes (websockets' sans-I/O protocol, one asyncio loop each), each
subscribed to `--per-client` instruments; all are connected and have every first value before ticking starts.
`--rate` ticks a second round-robin over the instruments for `--seconds`; then each client waits (at most
`--drain` s) for its instruments' last values.

Reported per side: tick-to-client latency p50/p99/p99.9 (publish time to the client's read, from shared memory);
the fraction of published ticks each client got (conflation: the median and the least); loss, the
(client, instrument) pairs whose last published value never arrived (must be 0); older values after newer;
Redis commands per tick (INFO commandstats delta over the ticking / ticks); the servers' RSS per 1,000
clients (connected and subscribed, and after ticking, over the idle servers); CPU seconds of servers, clients
and Redis while ticking. This machine has 2 cores for servers, Redis, the driver and the clients together:
the clients and the servers compete, and the report says how much of the machine each used.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import secrets
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import market_floor as mf  # noqa: E402  (bench/ is the script's own folder)
import market_measure as mm  # noqa: E402
from benchdb import database_recreate  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BENCH_TOKENS = 90_000_000  # the first token of the listed instruments' copies, where the listing is too small
START = "2026-11-16T09:15:00+05:30"  # a trading Monday at the open: the listing has the day's F&O contracts


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="250,1000", help="client counts, in turn")
    parser.add_argument("--sides", default="floor,budhitrade")
    parser.add_argument("--instruments", type=int, default=500)
    parser.add_argument("--per-client", type=int, default=50)
    parser.add_argument("--rate", type=float, default=2000, help="ticks a second over all instruments")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--drain", type=float, default=15)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--dry", action="store_true", help="20 clients, 50 instruments of 10 each, 200 ticks/s, 5 s")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/budhitrade_bench_market")
    parser.add_argument("--state-dir", default="/tmp/budhitrade-bench-market")
    args = parser.parse_args()
    if args.dry:
        args.clients, args.instruments, args.per_client, args.rate, args.seconds = "20", 50, 10, 200, 5
    return args


def environment(args) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "budhitrade.settings.base", "DATABASE_URL": args.database_url,
        "BUDHITRADE_STATE_DIR": args.state_dir, "DEBUG": "false", "LOG_LEVEL": "WARNING",
        "PAPER_MARKET_HOURS": "always", "WEB_PROCESSES": "2",
        "RATE_LIMIT_USER_PER_MINUTE": "1000000000", "RATE_LIMIT_ANON_PER_MINUTE": "1000000000"})
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))  # one for the run: JWTs made here verify there
    sys.path.insert(0, str(REPO))


def seed(args) -> tuple[mf.Ticks, list[str]]:
    """Migrate, open the paper market, pick the instruments and make the users; the ticks and one JWT a user."""
    import django

    django.setup()
    from datetime import datetime
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from brokers.domain import Quote, QuoteInstrument
    from brokers.market import keys, render
    from brokers.paper.market import market_create
    from brokers.paper.models import PaperInstrument

    call_command("migrate", verbosity=0, interactive=False)
    market_create(start=datetime.fromisoformat(START))
    rows = list(PaperInstrument.objects.filter(active=True).exclude(instrument_type="INDEX").order_by("token"))
    listed = len(rows)
    copies = []
    for number in range(max(0, args.instruments - listed)):  # the listing is smaller: copies under bench tokens
        copy = PaperInstrument.objects.get(pk=rows[number % listed].pk)
        copy.pk, copy.token, copy.tradingsymbol = None, BENCH_TOKENS + number, f"BENCH{number:04d}"
        copies.append(copy)
    rows += PaperInstrument.objects.bulk_create(copies)
    print(f"{listed} instruments listed, {len(copies)} copies added under bench tokens", flush=True)
    rows = random.Random(11).sample(rows, args.instruments)
    now = timezone.now()
    instrument_keys, bases, templates = [], [], []
    for row in rows:
        segment = keys.EXCHANGE_SEGMENTS[row.exchange]
        quote = Quote(instrument=QuoteInstrument(exchange=row.exchange, token=str(row.token)), received_at=now,
                      last_price=row.last_price, open=row.open_price, high=row.high_price, low=row.low_price,
                      close=row.close_price, change=row.last_price - row.close_price, volume=0,
                      average_price=row.last_price, last_quantity=1, oi=row.oi, oi_day_high=row.oi,
                      oi_day_low=row.oi, buy_quantity=100, sell_quantity=100, last_trade_at=now)
        templates.append(render.market_data(quote, segment=segment, mode=keys.StreamMode.QUOTE, token=str(row.token)))
        instrument_keys.append(keys.instrument_key(segment, str(row.token)))
        bases.append(float(row.last_price.quantize(Decimal("0.05"))))
    users = [get_user_model().objects.create(username=f"bench-market-{n}") for n in range(args.users)]
    tokens = [str(AccessToken.for_user(user)) for user in users]
    django.db.connections.close_all()  # the processes forked from here open their own
    return mf.Ticks(instrument_keys, bases, templates, args.rate, args.seconds), tokens


# --- the product's side -------------------------------------------------------------------------------------

class Product:
    """`manage.py serve --web-only`: two daphne processes on one socket."""

    def __init__(self, state: Path, env: dict):
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = state / "serve.log"
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--web-only", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
        import httpx

        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=5).status_code == 200 and \
                        len(self.web_pids()) == 2:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"serve --web-only did not come up; see {self.log}")
            time.sleep(0.5)

    def web_pids(self) -> list[int]:
        from loadkit import product_pids

        return [pid for pid in product_pids(self.process.pid) if "budhitrade.daphne_server" in mm.command_line(pid)
                and not mm.command_line(pid).startswith(("/bin/sh", "sh "))]

    def stop(self) -> None:
        import signal

        os.killpg(self.process.pid, signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _drive(ticks, clock_name, go, reports, redis_url) -> None:
    """The driver process: seed each instrument's first value, announce the stream up, then tick on `go`."""
    import asyncio

    import django

    django.setup()

    async def drive():
        import redis.asyncio as aioredis

        from brokers.market import keys
        from brokers.market.feed_publish import status_publish, ticks_publish
        from brokers.pushes import FeedState

        redis = aioredis.Redis.from_url(redis_url)
        now = time.time()
        await ticks_publish(redis, keys.PAPER_STREAM, {key: ticks.data(i, 0, now) for i, key in enumerate(ticks.keys)})
        assert await status_publish(redis, keys.PAPER_STREAM, feed="paper", state=FeedState.UP, message="bench ticks")
        clock = mf.Clock(clock_name, len(ticks.keys), ticks.slots)
        reports.put(("seeded",))

        async def emit(batch, stamp):
            await ticks_publish(redis, keys.PAPER_STREAM,
                                {ticks.keys[i]: ticks.data(i, seq, stamp) for i, seq in batch})

        await asyncio.to_thread(go.wait)
        reports.put(("ticked", await ticks.run(clock, emit)))
        clock.close()
        await redis.aclose()

    asyncio.run(drive())


def run_side(side: str, count: int, args, ticks: mf.Ticks, tokens: list[str], product, redis) -> dict:
    """One side at one client count: connect, subscribe, tick, drain; the measures."""
    context = multiprocessing.get_context("fork")
    clock = mf.Clock(None, len(ticks.keys), ticks.slots)
    go, done, server_reports, client_reports = context.Event(), context.Event(), context.Queue(), context.Queue()
    if side == "floor":
        server = context.Process(target=mf.floor_main, args=(ticks, clock.memory.name, go, server_reports))
        server.start()
        base, pids, redis_pid = f"ws://127.0.0.1:{server_reports.get(timeout=60)[1]}", [server.pid], None
    else:
        server = context.Process(target=_drive, args=(ticks, clock.memory.name, go, server_reports, redis[0]))
        server.start()
        assert server_reports.get(timeout=60) == ("seeded",)
        base, pids, redis_pid = f"ws://127.0.0.1:{product.port}", product.web_pids(), redis[1]
    idle = mm.rss_mib(pids)
    plans = []
    for number in range(count):
        chosen = random.Random(number).sample(range(len(ticks.keys)), args.per_client)
        items = [{"instrument_token": ticks.keys[i].split("|")[1], "exchange_segment": ticks.keys[i].split("|")[0]}
                 for i in chosen]
        subscribe = json.dumps({"action": "subscribe", "instrument_tokens": items, "isIndex": False, "isDepth": False})
        client_id = f"bench-{side}-{count}-{number}"
        plans.append(mm.Plan(client_id, f"{base}/ws/market/{client_id}?token={tokens[number % len(tokens)]}",
                             subscribe, tuple(ticks.keys[i] for i in chosen)))
    options = {"concurrency": 25, "ready_timeout": 20.0, "drain_seconds": args.drain}
    clients = [context.Process(target=mm.clients_main, args=(plans[n::args.client_processes], ticks,
                                                             clock.memory.name, go, done, client_reports, options))
               for n in range(args.client_processes)]
    for process in clients:
        process.start()
    ready = [client_reports.get(timeout=120 + count) for _ in clients]
    connected = mm.rss_mib(pids)
    calls_before = mm.redis_calls(redis[0]) if redis_pid else Counter()
    watched = {"servers": pids, "clients": [p.pid for p in clients], "driver": [server.pid] if redis_pid else [],
               "redis": [redis_pid] if redis_pid else []}
    cpu_before = {kind: mm.cpu_seconds(found) for kind, found in watched.items()}
    busy_before = mm.machine_busy()
    go.set()
    profilers = mm.profile_start(pids, f"{side}-{count}", args.seconds)
    ticked = server_reports.get(timeout=args.seconds * 20 + 120)[1]  # a starved floor ticks slower than asked
    cpu = {kind: round(mm.cpu_seconds(found) - cpu_before[kind], 1) for kind, found in watched.items()}
    cpu["machine"] = round(mm.machine_busy() - busy_before, 1)
    cpu["foreign"] = round(max(0.0, cpu["machine"] - sum(v for k, v in cpu.items() if k != "machine")), 1)
    cpu["wall"] = round(ticked["seconds"], 1)
    calls = mm.redis_calls(redis[0]) - calls_before if redis_pid else Counter()
    calls["info"] -= 1
    after = mm.rss_mib(pids)
    done.set()
    results, histogram = [], Counter()
    for _ in clients:
        kind, found, buckets = client_reports.get(timeout=args.drain + 120)
        results += found
        histogram.update({int(bucket): n for bucket, n in buckets.items()})
    servers_through_drain = mm.cpu_seconds(pids) - cpu_before["servers"]  # every delivery's work, late ones too
    for process in clients + [server]:
        process.join(timeout=30)
        if process.is_alive():
            process.terminate()
    server.join(timeout=10)
    index = {key: i for i, key in enumerate(ticks.keys)}
    fractions, lost_pairs, lost_clients = [], 0, 0
    by_id = {result["client_id"]: result for result in results}
    for plan in plans:
        result = by_id.get(plan.client_id, {"received": 0, "last": {}})
        published = sum(clock.final(index[key]) for key in plan.keys)
        fractions.append(result["received"] / published if published else 0.0)
        lost = sum(result["last"].get(key, 0) < clock.final(index[key]) for key in plan.keys)
        lost_pairs, lost_clients = lost_pairs + lost, lost_clients + bool(lost)
    clock.close(unlink=True)
    mm.profile_wait(profilers)
    fractions.sort()
    delivered = sum(r["received"] for r in results)
    return {
        "side": side, "clients": count, "ready": sum(r[1] for r in ready),
        "ready_errors": sum((r[3] for r in ready), []),
        "ticks": ticked, "p50_ms": mm.percentile(histogram, 0.5), "p99_ms": mm.percentile(histogram, 0.99),
        "p999_ms": mm.percentile(histogram, 0.999), "received_median": fractions[len(fractions) // 2],
        "received_least": fractions[0], "lost_pairs": lost_pairs, "lost_clients": lost_clients,
        "older": sum(r["older"] for r in results), "errors": sum(r["errors"] for r in results),
        "closed": sum(not r["open"] for r in results),
        "redis_per_tick": round(sum(calls.values()) / ticked["ticks"], 3) if redis_pid else None,
        "redis_commands": dict(calls.most_common(6)) if redis_pid else None,
        "rss_mib": {"idle": round(idle, 1), "connected": round(connected, 1), "after": round(after, 1)},
        "rss_per_1000_mib": round((after - idle) * 1000 / count, 1), "cpu_s": cpu, "delivered": delivered,
        "server_us_per_delivery": round(servers_through_drain * 1e6 / delivered, 1) if delivered else None}


def processes_forget(redis_url: str) -> int:
    """Sweep the stopped web processes out of the want set, as the market feed does for a process whose heartbeat
    lapsed (the bench runs no feed, and a stopped process's heartbeat key outlives it by up to its TTL): the next
    count's ticks are published to its own processes alone. How many were swept."""
    import asyncio

    import redis.asyncio as aioredis

    from brokers.market import keys
    from brokers.market.demand import demand_read

    async def sweep() -> int:
        redis = aioredis.Redis.from_url(redis_url)
        members = await redis.smembers(keys.WANT_PROCESSES)
        if members:
            await redis.delete(*(keys.process_key(member.decode()) for member in members))
        await demand_read(redis)  # the feed's own sweep: every member without a heartbeat goes
        await redis.aclose()
        return len(members)

    return asyncio.run(sweep())


def main() -> None:
    args = arguments()
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    environment(args)
    from budhitrade.embedded_redis import embedded_redis

    database_recreate(args.database_url)
    with embedded_redis(str(state / "redis")) as redis_url:
        os.environ["REDIS_URL"] = redis_url
        import redis as redis_client

        redis_pid = redis_client.Redis.from_url(redis_url).info("server")["process_id"]
        ticks, tokens = seed(args)
        results = []
        for count in [int(n) for n in args.clients.split(",")]:
            for side in args.sides.split(","):
                print(f"{side}: {count} clients ...", flush=True)
                # Fresh web processes for each count: memory freed by the last run would hide this one's growth.
                product = Product(state, dict(os.environ)) if side == "budhitrade" else None
                try:
                    results.append(run_side(side, count, args, ticks, tokens, product, (redis_url, redis_pid)))
                finally:
                    if product:
                        product.stop()
                        processes_forget(redis_url)
                print(json.dumps(results[-1]), flush=True)
        (state / "results.json").write_text(json.dumps(results, indent=1))
        mm.report(results)
        print(f"\n{os.cpu_count()} cores on this machine; results in {state / 'results.json'}")


if __name__ == "__main__":
    main()
