"""Benchmark: one daphne, two daphne on one shared socket (as `manage.py serve` runs them), and gunicorn with two
uvicorn workers, side by side on this machine.

Run by hand from the repository root, with the machine's PostgreSQL and Redis up. gunicorn and uvicorn are not
BudhiTrade dependencies: put them in a scratch venv with the product's pinned requirements first, once:

    python3 -m venv /tmp/h6venv && /tmp/h6venv/bin/pip install -r requirements-dev.txt \
      && /tmp/h6venv/bin/pip install --no-deps -r requirements-nodeps.txt \
      && /tmp/h6venv/bin/pip install gunicorn 'uvicorn[standard]'
    .venv/bin/python bench/web_processes.py --gunicorn /tmp/h6venv/bin/gunicorn

The servers, all serving `budhitrade.asgi:application` under `bench.settings` with their access logs on (to a
file in `--state-dir`):
- `daphne x1`: one `daphne --fd` on a socket this script binds (`serve`'s command line, web_command);
- `daphne x2`: two of them on one socket, as `manage.py serve --web-processes 2` starts them;
- `gunicorn x2`: `gunicorn -k uvicorn.workers.UvicornWorker -w 2` (its own socket, shared by its workers).

The script drops, creates and migrates the bench database (`budhitrade_bench_web`), flushes its Redis database
(11) and seeds one user with one connected paper account holding `--positions` stored positions, synced now
(bench/positions_throughput.py's seed), so reads never call the broker. Both rate limits are raised.

Two loads, each for `--rounds` rounds of `--duration` seconds per server, the servers in turn and the order
reversed every other round (ABC, CBA, ...), after `--warmup` seconds each:
- `http`: `--concurrency` keep-alive connections sending `GET /accounts/{id}/positions` with a JWT back to back
  (every answer a 200 with all rows): requests/s, median and p99 latency;
- `ws`: `--clients` WebSockets on `/ws/orders/{id}?token=`; this process publishes an `order_update` to the
  account's group through the channel layer (channels-redis), waits until every client has it, and publishes the
  next: messages/s, deliveries/s (messages x clients) and the median and p99 of publish-to-receipt per delivery.

CPU is read from /proc for each server's processes, this load generator, PostgreSQL and Redis; `foreign` is the
rest of the machine (other people's work). A round where foreign use passed `--noise` cores in any segment is
run again (at most `--retries` times), and the report says which rounds stayed noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import positions_throughput as pt  # noqa: E402  (bench/ is the script's own folder)

REPO = pt.REPO


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gunicorn", default="/tmp/h6venv/bin/gunicorn",
                        help="gunicorn of a venv with uvicorn[standard] and the product's requirements")
    parser.add_argument("--servers", default="daphne x1,daphne x2,gunicorn x2")
    parser.add_argument("--loads", default="http,ws")
    parser.add_argument("--positions", type=int, default=20, help="stored positions the read returns")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive HTTP connections kept busy")
    parser.add_argument("--clients", type=int, default=200, help="WebSocket clients of the account")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per server per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per server and load before measuring")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/budhitrade_bench_web")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--state-dir", default="/tmp/budhitrade-bench-web", help="keys and the servers' logs")
    parser.add_argument("--noise", type=float, default=0.3, help="foreign cores above which a round is run again")
    parser.add_argument("--retries", type=int, default=4, help="noisy rounds run again at most")
    args = parser.parse_args()
    args.conn_max_age = None  # positions_throughput's environment: the product's own database settings
    return args


# --- servers -------------------------------------------------------------------------------------

@dataclass
class Server:
    name: str
    port: int
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """Every process of this server: the ones started and their descendants (gunicorn's workers)."""
        table = pt._processes()
        found = {process.pid for process in self.processes}
        grew = True
        while grew:
            more = {pid for pid, (_, parent, _, _) in table.items() if parent in found} - found
            found |= more
            grew = bool(more)
        return sorted(pid for pid in found if pid in table)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _server_start(name: str, args: argparse.Namespace) -> Server:
    from budhitrade.management.commands import serve

    log = open(Path(args.state_dir) / f"{name.replace(' ', '-')}.log", "w")
    options = dict(cwd=REPO, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    kind, count = name.split(" x")
    if kind == "daphne":
        listener = serve.web_listener("127.0.0.1", 0)
        server = Server(name, listener.getsockname()[1])
        command = shlex.split(serve.web_command(sys.executable, listener))
        for _ in range(int(count)):
            server.processes.append(subprocess.Popen(command, pass_fds=(listener.fileno(),), **options))
        listener.close()  # the daphne processes hold it now
        return server
    if kind == "gunicorn":
        if not Path(args.gunicorn).exists():
            sys.exit(f"{args.gunicorn} not found: see this script's docstring for the scratch venv")
        server = Server(name, pt._free_port())
        server.processes.append(subprocess.Popen(
            [args.gunicorn, "-k", "uvicorn.workers.UvicornWorker", "-w", count, "-b", f"127.0.0.1:{server.port}",
             "--access-logfile", "-", "budhitrade.asgi:application"], **options))
        return server
    sys.exit(f"unknown server {name!r}")


async def _ready(server: Server) -> None:
    import httpx

    deadline = time.monotonic() + 90
    async with httpx.AsyncClient(base_url=server.base, timeout=5) as client:
        while True:
            if any(process.poll() is not None for process in server.processes):
                sys.exit(f"{server.name} exited; see its log in the state dir")
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"{server.name} did not answer /health within 90 s")
            await asyncio.sleep(0.2)


# --- CPU -----------------------------------------------------------------------------------------

def _ticks(servers: list[Server], redis_port: int, database: str) -> dict:
    """CPU ticks so far: the machine, each server process, this process, the bench database's PostgreSQL backends
    and the bench's Redis (other databases' backends are foreign)."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    table = pt._processes()
    ticks = {"machine": sum(fields) - fields[3] - fields[4], "load generator": table[os.getpid()][2],
             "postgres": 0, "redis": 0}
    for pid, (name, parent, own, reaped) in table.items():
        if name == "postgres" or name.startswith("redis-server"):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if name == "postgres" and f" {database} ".encode() in command:
                ticks["postgres"] += own  # a backend of the bench database (the servers' pools keep them open)
            elif name != "postgres" and f":{redis_port}".encode() in command:
                ticks["redis"] += own
    for server in servers:
        ticks[server.name] = {pid: table[pid][2] for pid in server.pids() if pid in table}
    return ticks


def _cpu(before: dict, after: dict, seconds: float, server: Server) -> dict:
    """Cores used over the interval: the server (and each of its busy processes), the rest, and foreign."""
    scale = pt.CLOCK_TICKS * seconds
    used = {role: (after[role] - before[role]) / scale for role in ("machine", "load generator", "postgres",
                                                                     "redis")}
    per_process = {pid: (ticks - before[server.name].get(pid, 0)) / scale
                   for pid, ticks in after[server.name].items()}
    used["server"] = sum(per_process.values())
    used["server processes"] = sorted((value for value in per_process.values() if value >= 0.02), reverse=True)
    idle_servers = sum((sum(after[name].values()) - sum(before[name].get(pid, 0) for pid in after[name]))
                       for name in after if isinstance(after[name], dict) and name != server.name) / scale
    used["foreign"] = max(0.0, used["machine"] - used["server"] - used["load generator"] - used["postgres"]
                          - used["redis"] - idle_servers)
    return used


# --- loads ---------------------------------------------------------------------------------------

@dataclass
class Segment:
    server: str
    load: str
    round: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    messages: int = 0
    cpu: dict = field(default_factory=dict)
    before: dict = field(default_factory=dict)  # CPU ticks where the timed part began, when not at the start

    @property
    def rate(self) -> float:
        """Requests/s (http) or messages/s (ws)."""
        return (len(self.latencies) if self.load == "http" else self.messages) / self.seconds


async def _http(server: Server, args, account_id: str, token: str, seconds: float, segment: Segment | None):
    import httpx

    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(base_url=server.base, limits=limits, timeout=60) as client:
        await pt._load(client, f"/accounts/{account_id}/positions", {"Authorization": f"Bearer {token}"},
                       seconds=seconds, concurrency=args.concurrency, rows=args.positions, segment=segment)


async def _ws(server: Server, args, account_id: str, group: str, token: str, seconds: float,
              segment: Segment | None, ticks=None):
    """Publish an order_update, wait for every client to have it, publish the next, until `seconds` pass."""
    import websockets.asyncio.client
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    url = f"ws://127.0.0.1:{server.port}/ws/orders/{account_id}?token={token}"
    gate = asyncio.Semaphore(20)

    async def connect():
        async with gate:
            client = await websockets.asyncio.client.connect(url, open_timeout=60, max_queue=None)
            assert json.loads(await client.recv())["type"] == "connection"
            return client

    clients = await asyncio.gather(*(connect() for _ in range(args.clients)))
    sent_at: dict[str, float] = {}
    heard: dict[str, int] = {}
    everyone = asyncio.Event()
    latencies = segment.latencies if segment is not None else []

    async def listen(client):
        async for text in client:
            received = time.perf_counter()
            number = json.loads(text)["order_id"]
            latencies.append(received - sent_at[number])
            heard[number] += 1
            if heard[number] == len(clients):
                everyone.set()

    listeners = [asyncio.create_task(listen(client)) for client in clients]
    if segment is not None and ticks is not None:
        segment.before = ticks()  # the clients' handshakes are not part of the measure
    began = time.perf_counter()
    messages = 0
    try:
        while time.perf_counter() - began < seconds:
            number = f"bench-{messages}"
            heard[number] = 0
            everyone.clear()
            sent_at[number] = time.perf_counter()
            await layer.group_send(group, {"type": "order.event", "payload": {
                "type": "order_update", "account_id": account_id, "order_id": number, "status": "OPEN",
                "filled_quantity": 0, "average_price": 0.0, "status_message": "", "timestamp": "", "tag": ""}})
            await asyncio.wait_for(everyone.wait(), timeout=60)
            messages += 1
    finally:
        elapsed = time.perf_counter() - began
        for task in listeners:
            task.cancel()
        await asyncio.gather(*(client.close() for client in clients), return_exceptions=True)
    if segment is not None:
        segment.seconds, segment.messages = elapsed, messages


async def _measure(args, servers: list[Server], account_id: str, group: str, token: str) -> list[Segment]:
    redis_port = urlsplit(args.redis_url).port or 6379
    database = urlsplit(args.database_url).path.lstrip("/")
    loads = {"http": lambda server, seconds, segment: _http(server, args, account_id, token, seconds, segment),
             "ws": lambda server, seconds, segment: _ws(server, args, account_id, group, token, seconds, segment,
                                                        lambda: _ticks(servers, redis_port, database))}
    segments = []
    for load in args.loads.split(","):
        for server in servers:
            await loads[load](server, args.warmup, None)
        number = attempts = 0
        while number < args.rounds:
            attempts += 1
            order = servers if number % 2 == 0 else servers[::-1]
            found = []
            for server in order:
                segment = Segment(server.name, load, number + 1)
                before = _ticks(servers, redis_port, database)
                await loads[load](server, args.duration, segment)
                segment.cpu = _cpu(segment.before or before, _ticks(servers, redis_port, database), segment.seconds,
                                   server)
                found.append(segment)
                print(f"{load} round {segment.round} {server.name:11} " + _line(segment), flush=True)
            noisy = [s for s in found if s.cpu["foreign"] > args.noise]
            if noisy and attempts - 1 - number < args.retries:  # this load's retries so far
                print(f"  round {number + 1} run again: foreign "
                      + ", ".join(f"{s.cpu['foreign']:.2f}" for s in noisy) + " cores", flush=True)
                continue
            segments.extend(found)
            number += 1
    return segments


def _line(segment: Segment) -> str:
    ordered = sorted(segment.latencies)
    unit = "req/s" if segment.load == "http" else "msg/s"
    cpu = segment.cpu
    return (f"{segment.rate:7.1f} {unit}  p50 {pt._percentile(ordered, 0.5) * 1000:6.1f} ms  "
            f"p99 {pt._percentile(ordered, 0.99) * 1000:6.1f} ms  cores: server {cpu['server']:.2f} "
            f"({'/'.join(f'{value:.2f}' for value in cpu['server processes'])}), load gen "
            f"{cpu['load generator']:.2f}, postgres {cpu['postgres']:.2f}, redis {cpu['redis']:.2f}, "
            f"foreign {cpu['foreign']:.2f}")


# --- report --------------------------------------------------------------------------------------

def _report(args, segments: list[Segment], names: list[str]) -> None:
    for load in args.loads.split(","):
        mine = [s for s in segments if s.load == load]
        what = (f"GET /accounts/{{id}}/positions ({args.positions} rows, JWT), {args.concurrency} connections"
                if load == "http" else f"order_update fan-out to {args.clients} WebSockets through channels-redis")
        unit = "req/s" if load == "http" else "msg/s"
        print(f"\n## {load}: {what}; {args.rounds} rounds of {args.duration:g} s per server")
        print(f"| server | {unit} | " + ("deliveries/s | " if load == "ws" else "")
              + "p50 ms | p99 ms | server cores (per process) | foreign cores | rate vs daphne x1 | per round |")
        print("|---|---:|" + ("---:|" if load == "ws" else "") + "---:|---:|---|---:|---:|---|")
        rates = {}
        for name in names:
            own = [s for s in mine if s.server == name]
            seconds = sum(s.seconds for s in own)
            count = sum(len(s.latencies) for s in own) if load == "http" else sum(s.messages for s in own)
            rates[name] = count / seconds
        floor = rates.get("daphne x1")
        for name in names:
            own = [s for s in mine if s.server == name]
            ordered = sorted(latency for s in own for latency in s.latencies)
            seconds = sum(s.seconds for s in own)
            server_cores = sum(s.cpu["server"] * s.seconds for s in own) / seconds
            processes = [sum(s.cpu["server processes"][i] * s.seconds for s in own if len(s.cpu["server processes"]) > i)
                         / seconds for i in range(max(len(s.cpu["server processes"]) for s in own))]
            foreign = sum(s.cpu["foreign"] * s.seconds for s in own) / seconds
            deliveries = f"{rates[name] * args.clients:.0f} | " if load == "ws" else ""
            print(f"| {name} | {rates[name]:.1f} | {deliveries}{pt._percentile(ordered, 0.5) * 1000:.1f} "
                  f"| {pt._percentile(ordered, 0.99) * 1000:.1f} | {server_cores:.2f} "
                  f"({'/'.join(f'{p:.2f}' for p in processes)}) | {foreign:.2f} "
                  f"| {rates[name] / floor if floor else float('nan'):.2f} "
                  f"| {', '.join(f'{s.rate:.0f}' for s in own)} |")
        if "daphne x2" in rates and "gunicorn x2" in rates:
            ratio = rates["gunicorn x2"] / rates["daphne x2"]
            per_round = []
            for number in range(1, args.rounds + 1):
                rate = {s.server: s.rate for s in mine if s.round == number}
                per_round.append(f"{rate['gunicorn x2'] / rate['daphne x2']:.2f}")
            print(f"\nRESULT {load} gunicorn_x2/daphne_x2={ratio:.2f} (per round {', '.join(per_round)})"
                  + (f" daphne_x2/daphne_x1={rates['daphne x2'] / floor:.2f}" if floor else ""))
        noisy = [f"round {s.round} {s.server}" for s in mine if s.cpu["foreign"] > args.noise]
        if noisy:
            print(f"NOISE: other processes used more than {args.noise} cores during: {', '.join(noisy)}")


def main() -> None:
    args = _arguments()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the servers are stopped on the way out
    pt._environment(args)
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}", flush=True)
    pt._database_create(args.database_url)
    pt._django_setup()
    account_id, token = pt._account_seed(args.positions)
    from django.db import connections

    from brokers.models import BrokerConnection
    from brokers.consumers import orders_group

    group = orders_group(BrokerConnection.objects.get(account_id=account_id).pk)
    connections.close_all()

    names = [name.strip() for name in args.servers.split(",")]
    servers = [_server_start(name, args) for name in names]
    try:
        for server in servers:
            asyncio.run(_ready(server))
            print(f"{server.name} on {server.base}: pids {server.pids()}", flush=True)
        segments = asyncio.run(_measure(args, servers, account_id, group, token))
    finally:
        for server in servers:
            server.stop()
    _report(args, segments, names)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
