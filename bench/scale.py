"""Scale benchmarks: the whole product under order load, with few and with many orders resting.

Run by hand from the repository root, with the machine's PostgreSQL and Redis up:

    .venv/bin/python bench/scale.py place --resting 20,2000 --accounts 1      # (a) one account
    .venv/bin/python bench/scale.py place --resting 20,2000 --accounts 100    # (a) spread over 100 accounts
    .venv/bin/python bench/scale.py cancel --resting 2000 --accounts 1        # (c) cancel 2,000 beside placing
    .venv/bin/python bench/scale.py place --resting 2000 --web-processes 1,2  # (d) one and two web processes

Every run of one configuration starts afresh: it drops, creates and migrates
its bench database (a name with "bench" in it), empties its Redis database,
opens the paper market now (PAPER_MARKET_HOURS=always, so it is in session at
any hour), makes `--accounts` users each with a connected paper account and
places the `--resting` orders round-robin over them in this process through
`orders.services.order_place`, the path an API request takes (saved, sent to
the paper exchange, announced): BUY LIMIT ITC at 60% of its price, which no
fill reaches. Then it starts the product as `make run` does (`manage.py
serve`: web, worker, beat, paper market stepping every second, order feed;
DATABASE_URL and REDIS_URL given, BUDHITRADE_STATE_DIR a temp dir, rate limits
raised, WEB_PROCESSES from `--web-processes` when given) and, after
`--warmup` s of the same load, measures:

(a) place: `--clients` asyncio clients, each with its own keep-alive
    connection, POST resting limit orders for `--seconds` (with `--accounts`
    over 1, client i takes accounts i, i+clients, ... in turn);
(c) cancel: the same placing load, then the clients DELETE every one of the
    `--resting` orders (/accounts/{account_id}/orders/{order_id}), each taken
    from one shared queue, until none is left.

Then it stops the product (Ctrl-C) and checks that every accepted order is
stored exactly once and known to the paper exchange exactly once, that every
cancelled order is CANCELLED in both, and counts answers by status (5xx
apart). Each run prints orders/s, p50, p99, the CPU seconds each kind of
process used during the measured load (bench/loadkit.py) and the cores
everyone else used: a run where others used more than `--noise` cores is run
again (at most `--retries` times). Configurations run in turn, in reverse
order on every second round (`--rounds`), and the summary prints each
ratio: the last value of a list over the first (2,000 resting over 20, two web
processes over one, cancels over placing).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import loadkit  # noqa: E402  (bench/ is the script's own folder)
from benchdb import database_recreate
from order_latency_and_load import accepted_check, paper_accounts, percentile, resting_order

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Config:
    resting: int
    accounts: int
    web_processes: int | None

    def label(self) -> str:
        web = "-" if self.web_processes is None else self.web_processes
        return f"resting={self.resting} accounts={self.accounts} web_processes={web}"


@dataclass
class Phase:
    """One measured load: every request's latency, the accepted order ids and the answers by status."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)
    bodies: dict = field(default_factory=dict)  # the first answer of each status other than 200

    def answer(self, status, body: str) -> None:
        self.statuses[status] += 1
        if status != 200:
            self.bodies.setdefault(status, body[:300])

    @property
    def rate(self) -> float:
        return len(self.accepted) / self.seconds if self.seconds else 0.0

    def ms(self, fraction: float) -> float:
        return percentile(self.latencies, fraction) * 1000 if self.latencies else float("nan")

    def line(self) -> str:
        other = {status: count for status, count in sorted(self.statuses.items(), key=str) if status != 200}
        fives = sum(count for status, count in self.statuses.items() if isinstance(status, int) and status >= 500)
        return (f"{self.name}: {len(self.accepted)} in {self.seconds:.1f} s = {self.rate:.1f}/s "
                f"p50={self.ms(0.5):.0f}ms p99={self.ms(0.99):.0f}ms p99/p50={self.ms(0.99) / self.ms(0.5):.2f} "
                f"non_2xx={other} 5xx={fives}")


@dataclass
class Run:
    config: Config
    phases: dict[str, Phase] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    resting_seconds: float = 0.0
    web_seen: int = 0
    foreign: float = 0.0  # cores other processes used during the measured load

    @property
    def fives(self) -> int:
        return sum(count for phase in self.phases.values() for status, count in phase.statuses.items()
                   if isinstance(status, int) and status >= 500)


def _arguments() -> argparse.Namespace:
    numbers = lambda text: [int(value) for value in text.split(",") if value]  # noqa: E731
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmark", choices=["place", "cancel"])
    parser.add_argument("--resting", type=numbers, default=[20, 2000], help="orders resting before the load (list)")
    parser.add_argument("--accounts", type=numbers, default=[1], help="accounts (users) the orders go to (list)")
    parser.add_argument("--web-processes", type=numbers, default=[], help="WEB_PROCESSES for serve (list); unset: "
                                                                           "the product's default")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60, help="measured placing load per run")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of the same load before measuring")
    parser.add_argument("--rounds", type=int, default=1, help="runs per configuration, alternating the order")
    parser.add_argument("--noise", type=float, default=0.3, help="a run where others used more cores is run again")
    parser.add_argument("--retries", type=int, default=2, help="noisy runs run again at most this often")
    parser.add_argument("--quiet", type=float, default=0.3, help="before measuring, wait until others use fewer cores")
    parser.add_argument("--quiet-timeout", type=float, default=60)
    parser.add_argument("--port", type=int, default=8470, help="runs use this port and the nine after it in turn")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/budhitrade_bench_scale")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--state-dir", default="", help="keys and the product's logs (default: a new temp dir)")
    args = parser.parse_args()
    if args.benchmark == "cancel" and args.resting == [20, 2000]:
        args.resting = [2000]
    args.state_dir = args.state_dir or tempfile.mkdtemp(prefix="budhitrade-bench-scale-")
    return args


# --- setup ---------------------------------------------------------------------------------------

def _environment(args: argparse.Namespace) -> dict[str, str]:
    """Set this process's environment; the product's (serve's) environment, without WEB_PROCESSES."""
    product = {key: value for key, value in os.environ.items() if key not in ("DJANGO_SETTINGS_MODULE", "WEB_PROCESSES")}
    product.update(DATABASE_URL=args.database_url, REDIS_URL=args.redis_url, BUDHITRADE_STATE_DIR=args.state_dir,
                   SECRET_KEY=secrets.token_urlsafe(50), PAPER_MARKET_HOURS="always",
                   RATE_LIMIT_USER_PER_MINUTE="1000000000", RATE_LIMIT_ANON_PER_MINUTE="1000000000")
    os.environ.update(product, DJANGO_SETTINGS_MODULE="budhitrade.settings.base", LOG_LEVEL="WARNING")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    return product


def _fresh_start(args: argparse.Namespace) -> None:
    """An empty, migrated bench database and Redis database; the paper market open now."""
    import redis
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    from brokers.paper.market import market_create

    connections.close_all()
    for connection in connections.all():
        if hasattr(connection, "close_pool"):
            connection.close_pool()
    database_recreate(args.database_url)
    redis.Redis.from_url(args.redis_url).flushdb()
    call_command("migrate", verbosity=0, interactive=False)
    market_create(start=timezone.now())


def _far_below() -> Decimal:
    """60% of ITC's price in whole rupees: a BUY limit there rests; no walk of a few minutes reaches it."""
    from brokers.paper.models import PaperInstrument

    return (PaperInstrument.objects.get(tradingsymbol="ITC").last_price * Decimal("0.6")).quantize(Decimal("1"))


def _resting_place(accounts: list[tuple[object, str]], count: int, price: Decimal) -> list[tuple[str, str]]:
    """`count` resting orders round-robin over `accounts` through the order service: (account_id, order_id)."""
    from brokers.domain import OrderRequest
    from brokers.models import BrokerConnection
    from orders import services

    connections = [BrokerConnection.objects.get(account_id=account_id) for _, account_id in accounts]
    body = {**resting_order(price), "price": price}
    placed = []
    for number in range(count):
        connection = connections[number % len(connections)]
        order = services.order_place(connection=connection, request=OrderRequest(**body))
        assert order.status == "OPEN", (order.status, order.status_message)
        placed.append((connection.account_id, order.broker_order_id))
    return placed


# --- load ----------------------------------------------------------------------------------------

async def _place(base: str, accounts: list[tuple[str, str]], *, clients: int, seconds: float, body: dict,
                 phase: Phase) -> None:
    """`clients` clients POST orders back to back until `seconds` pass; client i takes accounts i, i+clients, ..."""
    import httpx

    until = time.monotonic() + seconds

    async def client(mine: list[tuple[str, str]]) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for token, account_id in itertools.cycle(mine):
                if time.monotonic() >= until:
                    return
                started = time.perf_counter()
                try:
                    response = await http.post(f"/accounts/{account_id}/orders", json=body,
                                               headers={"Authorization": f"Bearer {token}"})
                except httpx.TransportError as error:
                    phase.answer(type(error).__name__, str(error))
                    continue
                finally:
                    phase.latencies.append(time.perf_counter() - started)
                phase.answer(response.status_code, response.text)
                if response.status_code == 200:
                    phase.accepted.append(response.json()["order_id"])

    began = time.monotonic()
    share = [accounts[number::clients] or [accounts[number % len(accounts)]] for number in range(clients)]
    await asyncio.gather(*(client(mine) for mine in share))
    phase.seconds = time.monotonic() - began


async def _cancel(base: str, orders: list[tuple[str, str, str]], *, clients: int, phase: Phase) -> None:
    """`clients` clients DELETE (token, account_id, order_id) orders from one shared queue until it is empty."""
    import httpx

    queue = iter(orders)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            for token, account_id, order_id in queue:
                started = time.perf_counter()
                try:
                    response = await http.delete(f"/accounts/{account_id}/orders/{order_id}",
                                                 headers={"Authorization": f"Bearer {token}"})
                except httpx.TransportError as error:
                    phase.answer(type(error).__name__, str(error))
                    continue
                finally:
                    phase.latencies.append(time.perf_counter() - started)
                phase.answer(response.status_code, response.text)
                if response.status_code == 200:
                    phase.accepted.append(order_id)

    began = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    phase.seconds = time.monotonic() - began


def _measured(product: loadkit.Product, database: str, phase: Phase, load) -> Phase:
    before = loadkit.cpu_sample(product_pid=product.process.pid, database=database)
    asyncio.run(load)
    phase.cpu = loadkit.cpu_used(before, loadkit.cpu_sample(product_pid=product.process.pid, database=database))
    return phase


# --- one run -------------------------------------------------------------------------------------

def _run(args: argparse.Namespace, product_env: dict[str, str], config: Config, port: int) -> Run:
    from rest_framework_simplejwt.tokens import AccessToken

    from brokers.paper.models import PaperOrder
    from orders.models import Order

    run = Run(config=config)
    database = args.database_url.rsplit("/", 1)[1]
    _fresh_start(args)
    users = paper_accounts(config.accounts)
    price = _far_below()
    started = time.monotonic()
    resting = _resting_place(users, config.resting, price)
    run.resting_seconds = time.monotonic() - started
    print(f"  {config.resting} resting orders placed in {run.resting_seconds:.1f} s "
          f"({config.resting / run.resting_seconds:.0f}/s, in-process)", flush=True)
    tokens = {account_id: str(AccessToken.for_user(user)) for user, account_id in users}
    accounts = [(tokens[account_id], account_id) for _, account_id in users]
    body = resting_order(price)
    env = dict(product_env)
    if config.web_processes is not None:
        env["WEB_PROCESSES"] = str(config.web_processes)
    from django.db import connections

    connections.close_all()
    product = loadkit.Product(repo=REPO, port=port, env=env, log=Path(args.state_dir) / f"serve-{port}.log")
    try:
        product.ready()
        warmup = Phase("warmup")
        asyncio.run(_place(product.base, accounts, clients=args.clients, seconds=args.warmup, body=body, phase=warmup))
        loadkit.quiet_wait(product_pid=product.process.pid, database=database, limit=args.quiet,
                           timeout=args.quiet_timeout)
        run.web_seen = loadkit.cpu_sample(product_pid=product.process.pid, database=database).web_processes
        run.phases["warmup"] = warmup
        place = run.phases["place"] = Phase("place")
        _measured(product, database, place, _place(product.base, accounts, clients=args.clients,
                                                   seconds=args.seconds, body=body, phase=place))
        if args.benchmark == "cancel":
            queue = [(tokens[account_id], account_id, order_id) for account_id, order_id in resting]
            cancel = run.phases["cancel"] = Phase("cancel")
            _measured(product, database, cancel, _cancel(product.base, queue, clients=args.clients, phase=cancel))
    finally:
        product.stop()
    accepted = [order_id for phase in ("warmup", "place") for order_id in run.phases[phase].accepted]
    run.checks["stored_exactly_once"], run.checks["known_to_paper_exchange_exactly_once"] = accepted_check(accepted)
    if "cancel" in run.phases:
        ids = [order_id for _, order_id in resting]
        counts = (len(run.phases["cancel"].accepted),
                  Order.objects.filter(broker_order_id__in=ids, status="CANCELLED").count(),
                  PaperOrder.objects.filter(order_id__in=ids, status="CANCELLED").count())
        run.checks["all_cancelled"] = counts == (len(ids),) * 3
        print(f"  cancelled of {len(ids)}: answered 200 {counts[0]}, stored CANCELLED {counts[1]}, "
              f"CANCELLED at the paper exchange {counts[2]}")
    run.foreign = max(phase.cpu["foreign"] / phase.cpu["wall"] for phase in run.phases.values() if phase.cpu)
    return run


# --- report --------------------------------------------------------------------------------------

CPU_SHOWN = ("web", "worker", "beat", "market", "orderfeed", "supervisor", "postgres", "redis", "load generator",
             "foreign")


def _run_print(run: Run) -> None:
    print(f"RESULT {run.config.label()} " + " ".join(f"{name}={value}" for name, value in run.checks.items())
          + f" 5xx={run.fives} web_processes_seen={run.web_seen} noise={run.foreign:.2f}cores", flush=True)
    for phase in run.phases.values():
        print(f"  {phase.line()}")
        for status, body in phase.bodies.items():
            print(f"    first {status}: {body}")
        if phase.cpu:
            print(f"    CPU s over {phase.cpu['wall']:.1f} s: "
                  + ", ".join(f"{kind} {phase.cpu[kind]:.1f}" for kind in CPU_SHOWN), flush=True)


def _merged(runs: list[Run], name: str) -> Phase:
    merged = Phase(name)
    for run in runs:
        phase = run.phases[name]
        merged.seconds += phase.seconds
        merged.latencies += phase.latencies
        merged.accepted += phase.accepted
        merged.statuses.update(phase.statuses)
        for kind, used in phase.cpu.items():
            merged.cpu[kind] = merged.cpu.get(kind, 0.0) + used
    return merged


def _summary(args: argparse.Namespace, configs: list[Config], runs: list[Run]) -> None:
    names = ("place", "cancel") if args.benchmark == "cancel" else ("place",)
    print(f"\n## {args.benchmark}: {args.clients} clients, {args.seconds:g} s of placing per run, "
          f"{args.rounds} round(s)")
    print("| configuration | load | per s | p50 ms | p99 ms | p99/p50 | non-2xx | 5xx | checks | "
          "CPU s: " + " / ".join(CPU_SHOWN) + " |")
    print("|---|---|---:|---:|---:|---:|---|---:|---|---|")
    merged = {}
    for config in configs:
        mine = [run for run in runs if run.config == config]
        for name in names:
            phase = merged[config, name] = _merged(mine, name)
            other = {status: count for status, count in phase.statuses.items() if status != 200}
            fives = sum(count for status, count in other.items() if isinstance(status, int) and status >= 500)
            checks = all(value for run in mine for value in run.checks.values())
            print(f"| {config.label()} | {name} | {phase.rate:.1f} | {phase.ms(0.5):.0f} | {phase.ms(0.99):.0f} "
                  f"| {phase.ms(0.99) / phase.ms(0.5):.2f} | {other or '-'} | {fives} | {'ok' if checks else 'FAILED'} "
                  f"| " + " / ".join(f"{phase.cpu.get(kind, 0):.0f}" for kind in CPU_SHOWN) + " |")
    for dimension in ("resting", "accounts", "web_processes"):
        values = list(dict.fromkeys(getattr(config, dimension) for config in configs))
        if len(values) < 2:
            continue
        for config in configs:
            if getattr(config, dimension) != values[0]:
                continue
            last = Config(**{**vars(config), dimension: values[-1]})
            first_rate, last_rate = merged[config, "place"].rate, merged[last, "place"].rate
            target = " (target >= 0.9)" if dimension == "resting" else ""
            print(f"RATIO place orders/s {dimension} {values[-1]}/{values[0]} at {config.label()}: "
                  f"{last_rate:.1f}/{first_rate:.1f} = {last_rate / first_rate:.2f}{target}")
    for config in configs:
        place = merged[config, "place"]
        print(f"RATIO p99/p50 placing at {config.label()}: {place.ms(0.99) / place.ms(0.5):.2f} (target <= 3)")
        if args.benchmark == "cancel":
            cancel = merged[config, "cancel"]
            print(f"RATIO cancels/s over placing orders/s at {config.label()}: {cancel.rate:.1f}/{place.rate:.1f} = "
                  f"{cancel.rate / place.rate:.2f} (target >= 1); cancel p99/p50 {cancel.ms(0.99) / cancel.ms(0.5):.2f}")


def _commit() -> str:
    found = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %cI"], capture_output=True, text=True)
    changed = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                             capture_output=True, text=True).stdout.splitlines()
    outside = [line[3:] for line in changed if not line[3:].startswith("bench/")]
    return found.stdout.strip() + (f" with {len(outside)} files changed outside bench/" if outside else
                                   ", nothing changed outside bench/")


def main() -> None:
    args = _arguments()
    print(f"{' '.join(sys.argv)}\ntree {REPO} at {_commit()}; cores {os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.2f}; state {args.state_dir}", flush=True)
    product_env = _environment(args)
    configs = [Config(resting, accounts, web) for accounts in args.accounts for web in (args.web_processes or [None])
               for resting in args.resting]
    runs: list[Run] = []
    number = 0
    for round_number in range(args.rounds):
        for config in configs if round_number % 2 == 0 else configs[::-1]:
            for attempt in range(args.retries + 1):
                print(f"run {number + 1}: {config.label()} (round {round_number + 1}, attempt {attempt + 1})", flush=True)
                run = _run(args, product_env, config, args.port + number % 10)
                number += 1
                _run_print(run)
                if run.foreign <= args.noise or attempt == args.retries:
                    break
                print(f"  discarded: other processes used {run.foreign:.2f} cores; running it again", flush=True)
            if run.foreign > args.noise:
                print(f"  NOISE: kept with other processes at {run.foreign:.2f} cores", flush=True)
            runs.append(run)
    _summary(args, configs, runs)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
