"""Benchmark (b): `GET /accounts/{id}/positions` with 200 positions against a plain Django view, on daphne.

Run by hand from the repository root, with the machine's PostgreSQL and Redis up:

    .venv/bin/python bench/positions_throughput.py --conn-max-age 0 --profile 200

`--conn-max-age 0` is needed while the product keeps CONN_MAX_AGE=60: under
daphne each request runs in a thread of its own, so every request opens a
PostgreSQL connection that is never reused and stays open until garbage
collection; at 16 connections' load that reaches PostgreSQL's default
max_connections (100) within a minute and requests fail with "too many clients".
Without the flag the script measures the settings as they are.

One daphne process serves `budhitrade.asgi:application` under `bench.settings`:
the product's settings and URLs plus `/bench/plain-positions/<account_id>`
(bench/plain_urls.py), a plain Django function view that reads the same
`Position` rows with `values()` of the API's `PositionOutputSerializer` fields
and returns them with `JsonResponse`: no DRF, no JWT, the same middleware.

The script drops, creates and migrates the bench database (default
`budhitrade_bench_positions`), flushes its Redis database (default 13), and
seeds one user with one connected paper account holding `--positions` stored
positions and an `AccountSync` row synced now, so the API serves the stored
rows and never calls the broker. The API is called with a JWT minted for that
user; both rate limits are raised so no request is a 429.

Before measuring it checks that both endpoints return the same rows. Then an
httpx load generator in this process keeps `--concurrency` keep-alive
connections busy for `--warmup` seconds per endpoint, then `--rounds` rounds of
`--duration` seconds per endpoint, alternating API and plain (ABBA order), so
both see the same machine state. Every response must be a 200 with
`--positions` rows. It prints requests/s, median and p99 latency per endpoint
and round and in total, the API/plain throughput ratio, and which processes
used the CPU while each endpoint was loaded.

The load generator shares the machine's cores with daphne, PostgreSQL and
Redis; it waits for other processes to go quiet before each segment and runs
a round again when they used more than `--noise` cores during it.
`--profile N` then sends N requests to each endpoint one at a time through a
second daphne that times layers (database, Redis, JWT, serializer, rendering)
in its request thread, and a third under cProfile, and prints where the time
goes.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from benchdb import database_recreate  # noqa: E402  (bench/ is the script's own folder)

REPO = Path(__file__).resolve().parent.parent
BENCH_USERNAME = "bench-positions"
BENCH_ACCOUNT_ID = "BENCHPOS1"
SERVERS: list[subprocess.Popen] = []
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--positions", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections kept busy")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of API and plain, in ABBA order")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds per endpoint before measuring")
    parser.add_argument("--port", type=int, default=0, help="daphne's port; 0 picks a free one")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/budhitrade_bench_positions")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--state-dir", default="/tmp/budhitrade-bench-positions", help="keys and daphne's log")
    parser.add_argument("--conn-max-age", type=int, default=None,
                        help="override the product's CONN_MAX_AGE in daphne (0: close each request's connection)")
    parser.add_argument("--quiet", type=float, default=0.1,
                        help="before each segment, wait until other processes use fewer cores than this")
    parser.add_argument("--quiet-timeout", type=float, default=300.0, help="but no longer than this many seconds")
    parser.add_argument("--noise", type=float, default=0.15,
                        help="a round where other processes used more cores than this in either segment is run again")
    parser.add_argument("--retries", type=int, default=8, help="rounds run again at most; 0 keeps noisy rounds")
    parser.add_argument("--profile", type=int, default=0, metavar="REQUESTS",
                        help="afterwards, profile this many API requests (and as many plain ones) inside daphne")
    return parser.parse_args()


# --- setup ---------------------------------------------------------------------------------------

def _environment(args: argparse.Namespace) -> None:
    """One environment for this process and daphne: bench database, Redis, keys, limits out of the way."""
    state = Path(args.state_dir)
    state.mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "BUDHITRADE_STATE_DIR": str(state),
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_USER_PER_MINUTE": "1000000000",
        "RATE_LIMIT_ANON_PER_MINUTE": "1000000000",
    })
    if args.conn_max_age is not None:
        os.environ["BENCH_CONN_MAX_AGE"] = str(args.conn_max_age)
    # Fixed for the run so the JWT minted here verifies in daphne.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    sys.path.insert(0, str(REPO))


def _database_create(database_url: str) -> None:
    database_recreate(database_url)


def _django_setup() -> None:
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    cache.clear()  # FLUSHDB of the bench's Redis database: no rate-limit window carried over


def _account_seed(positions: int) -> tuple[str, str]:
    """One user, one connected paper account with `positions` stored positions, synced now; its JWT."""
    import random

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from brokers.models import BrokerConnection
    from portfolio.models import AccountSync, Position

    rng = random.Random(2026)
    cent = Decimal("0.0001")
    now = timezone.now()
    with transaction.atomic():
        user = get_user_model().objects.create(username=BENCH_USERNAME)
        connection = BrokerConnection.objects.create(
            user=user, broker="paper", account_id=BENCH_ACCOUNT_ID, status="connected", credentials={},
            session={}, options={}, user_name="Bench Positions", last_connected_at=now)
        rows = []
        for number in range(positions):
            bought, sold = rng.randint(0, 500), rng.randint(0, 500)
            overnight = rng.choice((0, 0, 25, 50, 75))
            quantity = overnight + bought - sold
            buy_price = Decimal(rng.uniform(50, 5000)).quantize(cent)
            sell_price = (buy_price * Decimal(rng.uniform(0.97, 1.03))).quantize(cent)
            last_price = (buy_price * Decimal(rng.uniform(0.95, 1.05))).quantize(cent)
            close_price = (last_price * Decimal(rng.uniform(0.98, 1.02))).quantize(cent)
            pnl = ((sell_price - buy_price) * min(bought, sold) + (last_price - buy_price) * quantity).quantize(cent)
            m2m = ((last_price - close_price) * quantity).quantize(cent)
            rows.append(Position(
                connection=connection, tradingsymbol=f"BENCH{number:04d}", product=rng.choice(("MIS", "NRML", "CNC")),
                exchange=rng.choice(("NSE", "NFO")), instrument_token=str(100000 + number), quantity=quantity,
                average_price=buy_price, last_price=last_price, close_price=close_price, pnl=pnl, m2m=m2m,
                day_pnl=m2m, value=(last_price * quantity).quantize(cent), buy_quantity=bought, buy_price=buy_price,
                sell_quantity=sold, sell_price=sell_price, overnight_quantity=overnight))
        Position.objects.bulk_create(rows)
        AccountSync.objects.create(connection=connection, synced_at=now, last_attempt_at=now,
                                   positions_count=positions)
    return connection.account_id, str(AccessToken.for_user(user))


# --- daphne --------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _daphne_start(args: argparse.Namespace, port: int, *, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    log = open(Path(args.state_dir) / f"daphne-{port}.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "budhitrade.asgi:application"],
        cwd=REPO, env=dict(os.environ, **(extra_env or {})), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    SERVERS.append(server)
    return server


def _daphne_stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@atexit.register
def _servers_stop() -> None:
    for server in SERVERS:
        _daphne_stop(server)


async def _daphne_ready(base: str, server: subprocess.Popen, state_dir: str) -> None:
    import httpx

    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(base_url=base, timeout=2) as client:
        while True:
            if server.poll() is not None:
                sys.exit(f"daphne exited with {server.returncode}; see {state_dir}/daphne-*.log")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                sys.exit("daphne did not answer /health within 60 s")
            await asyncio.sleep(0.1)


# --- CPU accounting ------------------------------------------------------------------------------

def _processes() -> dict[int, tuple[str, int, int, int]]:
    """Every live process: pid -> (name, parent pid, own CPU ticks, reaped children's CPU ticks)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry.name)] = (stat[stat.index("(") + 1:stat.rindex(")")], int(fields[1]),
                                  int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]))
    return found


def _cpu_ticks(daphne_pid: int, redis_port: int) -> dict[str, int]:
    """CPU ticks used so far by the machine, daphne, this load generator, PostgreSQL and the bench's Redis.

    PostgreSQL is the postmaster with its children, live and reaped: under daphne
    every request opens its own backend (see bench/README.md), which is gone by
    the end of a segment. That includes other databases' backends.
    """
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    ticks = {"machine": sum(fields) - fields[3] - fields[4], "daphne": 0, "load generator": 0, "postgres": 0,
             "redis": 0}
    processes = _processes()
    for pid, (name, parent, own, reaped) in processes.items():
        if pid == daphne_pid:
            ticks["daphne"] += own
        elif pid == os.getpid():
            ticks["load generator"] += own
        elif name == "postgres" and processes.get(parent, ("",))[0] != "postgres":
            ticks["postgres"] += own + reaped  # the postmaster, and its backends that have exited
        elif name == "postgres":
            ticks["postgres"] += own
        elif name.startswith("redis-server"):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if f":{redis_port}".encode() in command:
                ticks["redis"] += own
    return ticks


CPU_ROLES = ("daphne", "postgres", "redis", "load generator", "foreign")


def _cpu_share(before: dict[str, int], after: dict[str, int], seconds: float) -> dict[str, float]:
    """Each role's CPU use over the interval, in cores (1.0 = one core busy); foreign is everything else."""
    used = {role: (after[role] - before[role]) / CLOCK_TICKS / seconds for role in after}
    used["foreign"] = max(0.0, used["machine"] - sum(used[role] for role in CPU_ROLES[:-1]))
    return used


def _quiet_wait(daphne_pid: int, redis_port: int, *, limit: float, timeout: float) -> float:
    """Wait until, with the bench idle, the machine is busier than `limit` cores for less than a second."""
    started = time.monotonic()
    said = 0
    while True:
        before = _cpu_ticks(daphne_pid, redis_port)
        time.sleep(1.0)
        used = _cpu_share(before, _cpu_ticks(daphne_pid, redis_port), 1.0)
        foreign = used["machine"] - used["daphne"] - used["load generator"]  # idle bench: all of it is others'
        waited = time.monotonic() - started
        if foreign < limit or waited > timeout:
            return foreign
        if waited >= said:
            print(f"  waiting: other processes use {foreign:.2f} cores", flush=True)
            said += 30


# --- load ----------------------------------------------------------------------------------------

@dataclass
class Segment:
    endpoint: str
    round: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)
    backends: int = 0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, fraction: float) -> float:
        return _percentile(sorted(self.latencies), fraction)


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return ordered[max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))]


class BadResponse(Exception):
    pass


async def _load(client, path: str, headers: dict, *, seconds: float, concurrency: int, rows: int,
                segment: Segment | None) -> None:
    """`concurrency` workers send back-to-back requests until `seconds` pass; every answer checked."""
    marker = b'"tradingsymbol"'
    stop_at = time.perf_counter() + seconds
    latencies = segment.latencies if segment is not None else []

    async def worker() -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            body = response.content
            latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or body.count(marker) != rows:
                raise BadResponse(f"{path}: {response.status_code}, {body.count(marker)} rows: {body[:300]!r}")

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    if segment is not None:
        segment.seconds = time.perf_counter() - began


async def _same_rows(client, api: tuple[str, dict], plain: tuple[str, dict], rows: int) -> None:
    """Both endpoints answer 200 with the same `rows` positions, field for field."""
    api_body = (await client.get(api[0], headers=api[1])).raise_for_status().json()
    plain_body = (await client.get(plain[0], headers=plain[1])).raise_for_status().json()
    if api_body["count"] != rows or plain_body["count"] != rows:
        raise BadResponse(f"expected {rows} rows; API {api_body['count']}, plain {plain_body['count']}")
    if api_body["positions"] != plain_body["positions"]:
        raise BadResponse("the API and the plain view return different rows")


def _backends(database_url: str) -> int:
    """PostgreSQL connections open to the bench database (daphne's, and this one)."""
    import psycopg

    parts = urlsplit(database_url)
    scheme = "postgresql" if parts.scheme in ("postgres", "postgresql") else parts.scheme
    with psycopg.connect(urlunsplit((scheme, parts.netloc, "/postgres", "", ""))) as admin:
        return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                             (parts.path.lstrip("/"),)).fetchone()[0]


def _endpoints(account_id: str, token: str) -> dict[str, tuple[str, dict]]:
    return {
        "API": (f"/accounts/{account_id}/positions", {"Authorization": f"Bearer {token}"}),
        "plain": (f"/bench/plain-positions/{account_id}", {}),
    }


async def _measure(args: argparse.Namespace, base: str, daphne_pid: int, account_id: str,
                   token: str) -> list[Segment]:
    import httpx

    endpoints = _endpoints(account_id, token)
    redis_port = urlsplit(args.redis_url).port or 6379
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    segments: list[Segment] = []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        await _same_rows(client, endpoints["API"], endpoints["plain"], args.positions)
        _quiet_wait(daphne_pid, redis_port, limit=args.quiet, timeout=args.quiet_timeout)
        for name in ("API", "plain"):
            path, headers = endpoints[name]
            await _load(client, path, headers, seconds=args.warmup, concurrency=args.concurrency,
                        rows=args.positions, segment=None)
        number = attempts = 0
        while number < args.rounds:
            attempts += 1
            if attempts > args.rounds + args.retries:
                sys.exit(f"gave up: only {number} of {args.rounds} rounds were free of other processes' load")
            order = ("API", "plain") if number % 2 == 0 else ("plain", "API")
            pair = []
            for name in order:
                path, headers = endpoints[name]
                segment = Segment(endpoint=name, round=number + 1)
                _quiet_wait(daphne_pid, redis_port, limit=args.quiet, timeout=args.quiet_timeout)
                before = _cpu_ticks(daphne_pid, redis_port)
                await _load(client, path, headers, seconds=args.duration, concurrency=args.concurrency,
                            rows=args.positions, segment=segment)
                segment.cpu = _cpu_share(before, _cpu_ticks(daphne_pid, redis_port), segment.seconds)
                segment.backends = _backends(args.database_url)
                pair.append(segment)
                print(f"round {segment.round} {name:5} {segment.rate:7.1f} req/s"
                      f"  median {segment.percentile(0.5) * 1000:6.1f} ms  p99 {segment.percentile(0.99) * 1000:6.1f} ms"
                      f"  ({len(segment.latencies)} requests)  cores: "
                      + ", ".join(f"{role} {segment.cpu[role]:.2f}" for role in CPU_ROLES)
                      + f"  pg connections {segment.backends}", flush=True)
            noisy = [s for s in pair if s.cpu["foreign"] > args.noise]
            if noisy and args.retries:
                print(f"  round {number + 1} discarded: other processes used "
                      + ", ".join(f"{s.cpu['foreign']:.2f}" for s in noisy) + " cores; running it again", flush=True)
                continue
            segments.extend(pair)
            number += 1
    return segments


# --- profile -------------------------------------------------------------------------------------
# Run only under `--profile`, inside a second daphne started with BENCH_PROFILE set.

LAYERS = (
    # (label, module, attribute path): wrapped with an exclusive-time timer.
    ("DB connect (one per request under daphne)", "django.db.backends.base.base", "BaseDatabaseWrapper.connect"),
    ("SQL execute (round trips)", "django.db.backends.utils", "CursorWrapper.execute"),
    ("SQL fetch (rows to Python values)", "psycopg", "ClientCursor.fetchmany"),
    ("ORM: model instances", "django.db.models.base", "Model.from_db"),
    ("Redis connect (one per request under daphne)", "redis.connection", "AbstractConnection.connect"),
    ("rate-limit counter (Redis add+incr)", "django.core.cache.backends.redis", "RedisCache.add"),
    ("rate-limit counter (Redis add+incr)", "django.core.cache.backends.redis", "RedisCache.incr"),
    ("JWT decode (middleware and DRF, twice)", "rest_framework_simplejwt.tokens", "Token.__init__"),
    ("DRF serializer (200 rows x 17 fields)", "rest_framework.serializers", "ListSerializer.to_representation"),
    ("JSON render", "rest_framework.renderers", "JSONRenderer.render"),
    ("JSON render", "django.http.response", "JsonResponse.__init__"),
)


class LayerTimer:
    """Exclusive wall time per label and request kind: a wrapped call's time less that of wrapped calls inside it."""

    def __init__(self):
        self.kind = "api"
        self.totals: dict[str, dict[str, float]] = {"api": {}, "plain": {}}
        self.stack: list[list[float]] = []

    def wrap(self, label: str, function):
        import functools

        @functools.wraps(function)
        def timed(*args, **kwargs):
            self.stack.append([0.0])
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - started
                inner = self.stack.pop()[0]
                totals = self.totals[self.kind]
                totals[label] = totals.get(label, 0.0) + elapsed - inner
                if self.stack:
                    self.stack[-1][0] += elapsed

        return timed

    def install(self) -> None:
        import importlib
        import inspect

        for label, module_name, path in LAYERS:
            owner_name, attribute = path.split(".")
            owner = getattr(importlib.import_module(module_name), owner_name)
            original = inspect.getattr_static(owner, attribute)
            if isinstance(original, classmethod):
                setattr(owner, attribute, classmethod(self.wrap(label, original.__func__)))
            else:
                setattr(owner, attribute, self.wrap(label, original))


class RequestProfileMiddleware:
    """Bench only: layer timers or cProfile in daphne's request thread, per request kind.

    Installed outermost by bench/settings.py when BENCH_PROFILE names a file;
    BENCH_PROFILE_MODE is `timers` or `cprofile`. Requests must come one at a
    time. Results are written on SIGUSR1.
    """

    def __init__(self, get_response):
        import cProfile

        self.get_response = get_response
        self.mode = os.environ.get("BENCH_PROFILE_MODE", "timers")
        self.timer = LayerTimer()
        if self.mode == "timers":
            self.timer.install()
        self.profiles = {"api": cProfile.Profile(), "plain": cProfile.Profile()}
        self.wall = {"api": 0.0, "plain": 0.0}
        self.count = {"api": 0, "plain": 0}
        signal.signal(signal.SIGUSR1, lambda *_: self._dump())

    def __call__(self, request):
        kind = self.timer.kind = "plain" if request.path.startswith("/bench/") else "api"
        started = time.perf_counter()
        if self.mode == "cprofile":
            self.profiles[kind].enable()
        try:
            return self.get_response(request)
        finally:
            if self.mode == "cprofile":
                self.profiles[kind].disable()
            self.wall[kind] += time.perf_counter() - started
            self.count[kind] += 1

    def _dump(self) -> None:
        import json

        target = os.environ["BENCH_PROFILE"]
        if self.mode == "cprofile":
            for kind, profile in self.profiles.items():
                profile.dump_stats(f"{target}.{kind}")
        Path(f"{target}.json").write_text(json.dumps({"wall": self.wall, "count": self.count,
                                                      "layers": self.timer.totals}))


def _profile_run(args: argparse.Namespace, account_id: str, token: str, mode: str) -> tuple[dict, dict, str]:
    """Send `--profile` requests to each endpoint, one at a time, through a profiling daphne."""
    import json

    import httpx

    target = str(Path(args.state_dir) / f"profile-{mode}")
    for suffix in (".api", ".plain", ".json"):
        Path(target + suffix).unlink(missing_ok=True)
    port = _free_port()
    server = _daphne_start(args, port, extra_env={"BENCH_PROFILE": target, "BENCH_PROFILE_MODE": mode})
    base = f"http://127.0.0.1:{port}"
    asyncio.run(_daphne_ready(base, server, args.state_dir))
    client_wall = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for name, (path, headers) in _endpoints(account_id, token).items():
            kind = name.lower()
            for _ in range(20):  # warm-up, not counted at the client (it is inside: small)
                client.get(path, headers=headers).raise_for_status()
            started = time.perf_counter()
            for _ in range(args.profile):
                client.get(path, headers=headers).raise_for_status()
            client_wall[kind] = (time.perf_counter() - started) / args.profile
    os.killpg(server.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 30
    while not Path(target + ".json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    _daphne_stop(server)
    return json.loads(Path(target + ".json").read_text()), client_wall, target


def _profile(args: argparse.Namespace, account_id: str, token: str) -> None:
    """Where a request's time goes: layer timers (low overhead), then cProfile (detail, inflated)."""
    import pstats

    inside, client_wall, _ = _profile_run(args, account_id, token, "timers")
    print(f"\n## Where the time goes: {args.profile} requests per endpoint, one at a time, layer timers in daphne")
    print("| layer (exclusive time) | API ms/request | plain ms/request |")
    print("|---|---:|---:|")
    per = {kind: {label: total / inside["count"][kind] * 1000 for label, total in inside["layers"][kind].items()}
           for kind in ("api", "plain")}
    django = {kind: inside["wall"][kind] / inside["count"][kind] * 1000 for kind in ("api", "plain")}
    labels = list(dict.fromkeys(label for label, _, _ in LAYERS))
    for label in labels:
        print(f"| {label} | {per['api'].get(label, 0):.2f} | {per['plain'].get(label, 0):.2f} |")
    rest = {kind: django[kind] - sum(per[kind].values()) for kind in ("api", "plain")}
    print(f"| everything else in Django (middleware, URL routing, DRF dispatch, views, asgiref hops) "
          f"| {rest['api']:.2f} | {rest['plain']:.2f} |")
    print(f"| **inside Django's middleware stack** | **{django['api']:.2f}** | **{django['plain']:.2f}** |")
    outside = {kind: client_wall[kind] * 1000 - django[kind] for kind in ("api", "plain")}
    print(f"| daphne, ASGI handler, thread hand-off, network, client | {outside['api']:.2f} | {outside['plain']:.2f} |")
    print(f"| **at the client** | **{client_wall['api'] * 1000:.2f}** | **{client_wall['plain'] * 1000:.2f}** |")

    inside, client_wall, target = _profile_run(args, account_id, token, "cprofile")
    print(f"\n## cProfile of daphne's request thread ({target}.api / .plain; cProfile inflates Python-heavy code)")
    for kind in ("api", "plain"):
        print(f"\n### {kind}: top functions by internal time")
        pstats.Stats(f"{target}.{kind}").sort_stats("tottime").print_stats(20)


# --- report --------------------------------------------------------------------------------------

def _report(args: argparse.Namespace, segments: list[Segment]) -> None:
    print(f"\n## Per endpoint: {args.rounds} rounds of {args.duration:g} s each, {args.concurrency} connections")
    print("| endpoint | requests | req/s | median ms | p99 ms | CPU cores: " + " / ".join(CPU_ROLES) + " |")
    print("|---|---:|---:|---:|---:|---|")
    rates = {}
    for name in ("API", "plain"):
        mine = [s for s in segments if s.endpoint == name]
        ordered = sorted(latency for s in mine for latency in s.latencies)
        seconds = sum(s.seconds for s in mine)
        rates[name] = len(ordered) / seconds
        cpu = {role: sum(s.cpu[role] * s.seconds for s in mine) / seconds for role in CPU_ROLES}
        print(f"| {name} | {len(ordered)} | {rates[name]:.1f} | {_percentile(ordered, 0.5) * 1000:.1f} "
              f"| {_percentile(ordered, 0.99) * 1000:.1f} | " + " / ".join(f"{cpu[role]:.2f}" for role in CPU_ROLES)
              + " |")
    ratio = rates["API"] / rates["plain"]
    per_round = []
    for number in range(1, args.rounds + 1):
        rate = {s.endpoint: s.rate for s in segments if s.round == number}
        per_round.append(f"{rate['API'] / rate['plain']:.2f}")
    print(f"\nRESULT api_rps={rates['API']:.1f} plain_rps={rates['plain']:.1f} ratio={ratio:.2f} "
          f"(per round {', '.join(per_round)}) target=0.50 {'met' if ratio >= 0.5 else 'MISSED'}")
    noisy = [f"round {s.round} {s.endpoint}" for s in segments if s.cpu["foreign"] > args.noise]
    if noisy:
        print(f"NOISE: other processes used more than {args.noise} cores during: {', '.join(noisy)}")
    print(f"max PostgreSQL connections to the bench database seen after a segment: "
          f"{max(s.backends for s in segments)}")


def run(args, seed, rows: str) -> None:
    """Seed the bench database with `seed()` -> (account id, token), serve it on daphne, measure, report."""
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}", flush=True)
    _database_create(args.database_url)
    _django_setup()
    account_id, token = seed()
    from django.db import connections

    connections.close_all()  # this process only measures from here on

    port = args.port or _free_port()
    server = _daphne_start(args, port)
    base = f"http://127.0.0.1:{port}"
    asyncio.run(_daphne_ready(base, server, args.state_dir))
    print(f"daphne pid {server.pid} on {base}; {rows} in account {account_id}", flush=True)
    segments = asyncio.run(_measure(args, base, server.pid, account_id, token))
    _daphne_stop(server)
    _report(args, segments)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if args.profile:
        _profile(args, account_id, token)


def main() -> None:
    args = _arguments()
    _environment(args)
    run(args, lambda: _account_seed(args.positions), f"{args.positions} positions")


if __name__ == "__main__":
    main()
