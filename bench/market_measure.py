"""bench/market_fanout.py's clients and measures: the market sockets, their counts, and each process's share.

Each client is one market socket read by a minimal RFC 6455 client of its own
(the handshake, unmasked server frames in, masked frames out, pings answered),
the same for both sides; what it costs is mostly the read itself (about 20 µs
a message when each read brings one frame, a few µs when a read brings many).
It subscribes on `connection`, waits for each
instrument's first value, and from the orchestrator's `go` counts each tick it
gets by the seq in its ltp (market_floor.Ticks), its latency in a histogram of
2% buckets, and values that came older than one already seen. The client
processes send their counts back; the orchestrator joins them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import os
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from market_floor import STEP, Clock, Ticks

BUCKET = math.log(1.02)  # latency histogram: 2% wide buckets of microseconds

# --- clients ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    client_id: str
    url: str
    subscribe: str  # seed 002's subscribe message
    keys: tuple[str, ...]


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: FIN, masked (RFC 6455 requires it) with a zero key, so the payload goes as it is."""
    length = len(payload)
    if length <= 125:
        header = bytes((0x80 | opcode, 0x80 | length))
    elif length <= 0xFFFF:
        header = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    return header + b"\0\0\0\0" + payload


class Client(asyncio.Protocol):
    """One market socket: the opening handshake, then server frames parsed in place (both servers send each
    message as one unfragmented frame); subscribes, then counts."""

    def __init__(self, plan: Plan, ticks: Ticks, index: dict[str, int], clock: Clock, histogram: Counter):
        self.plan, self.ticks, self.index, self.clock, self.histogram = plan, ticks, index, clock, histogram
        self.ready = asyncio.get_running_loop().create_future()
        self.waiting = set(plan.keys)
        self.last: dict[str, int] = {}
        self.received = self.older = self.repeated = self.errors = 0
        self.first_error = ""
        self.open = self.handshaken = False
        self.buffer = bytearray()

    def connection_made(self, transport):
        self.transport = transport
        address = urlsplit(self.plan.url)
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(f"GET {address.path}?{address.query} HTTP/1.1\r\nHost: {address.netloc}\r\n"
                        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n".encode())

    def data_received(self, data):
        buffer = self.buffer
        buffer += data
        if not self.handshaken:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[:buffer.find(b"\r\n")]).split()[1]
            self.handshaken, self.open = True, status == b"101"
            del buffer[:end + 4]
            if not self.open:
                self.first_error = f"handshake {status.decode()}"
                if not self.ready.done():
                    self.ready.set_result(False)
                return
        now, at, size = time.time(), 0, len(buffer)
        while size - at >= 2:
            length, head = buffer[at + 1] & 0x7F, 2
            if length == 126:
                if size - at < 4:
                    break
                length, head = int.from_bytes(buffer[at + 2:at + 4], "big"), 4
            elif length == 127:
                if size - at < 10:
                    break
                length, head = int.from_bytes(buffer[at + 2:at + 10], "big"), 10
            if size - at < head + length:
                break
            opcode, payload = buffer[at] & 0x0F, bytes(buffer[at + head:at + head + length])
            at += head + length
            if opcode == 0x1:
                self._message(payload, now)
            elif opcode == 0x9:  # ping: pong with its payload
                self.transport.write(client_frame(0xA, payload))
            elif opcode == 0x8:  # close: answer it and go
                if self.open:
                    self.transport.write(client_frame(0x8, payload[:2]))
                self.open = False
                self.transport.close()
                break
        del buffer[:at]

    def _message(self, raw: bytes, now: float) -> None:
        message = json.loads(raw)
        kind = message.get("type")
        if kind == "connection":
            self.transport.write(client_frame(0x1, self.plan.subscribe.encode()))
        elif kind == "market_data":
            data = message["data"]
            key = f"{data['exchange_segment']}|{data['instrument_token']}"
            i = self.index[key]
            seq = round((float(data["ltp"]) - self.ticks.bases[i]) / STEP)
            if seq == 0:
                self.waiting.discard(key)
                if not self.waiting and not self.ready.done():
                    self.ready.set_result(True)
                return
            before = self.last.get(key, 0)
            if seq < before:
                self.older += 1
            elif seq == before:
                self.repeated += 1
            else:
                self.last[key] = seq
                self.received += 1
                latency_us = max(1.0, (now - self.clock.sent(i, seq)) * 1e6)
                self.histogram[int(math.log(latency_us) / BUCKET)] += 1
        elif kind == "error":
            self.errors += 1
            self.first_error = self.first_error or message.get("message", "")

    def connection_lost(self, exc):
        self.open = False
        if not self.ready.done():
            self.ready.set_result(False)

    def close(self) -> None:
        """A close frame, then the connection (the servers see a clean close)."""
        if self.open:
            self.transport.write(client_frame(0x8, (1000).to_bytes(2, "big")))
        self.transport.close()

    def complete(self) -> bool:
        return all(self.last.get(key, 0) >= self.clock.final(self.index[key]) for key in self.plan.keys)

    def result(self) -> dict:
        return {"client_id": self.plan.client_id, "received": self.received, "older": self.older,
                "repeated": self.repeated, "errors": self.errors, "first_error": self.first_error,
                "open": self.open, "last": dict(self.last)}


async def _clients(plans, ticks, clock_name, go, done, reports, *, concurrency: int, ready_timeout: float,
                   drain_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    clock = Clock(clock_name, len(ticks.keys), ticks.slots)
    index = {key: i for i, key in enumerate(ticks.keys)}
    histogram: Counter = Counter()
    gate = asyncio.Semaphore(concurrency)
    clients: list[Client] = []
    failed: list[str] = []

    async def open_one(plan: Plan) -> None:
        address = urlsplit(plan.url)
        async with gate:
            try:
                _, client = await loop.create_connection(lambda: Client(plan, ticks, index, clock, histogram),
                                                         address.hostname, address.port)
            except OSError as error:
                failed.append(f"{plan.client_id}: {error}")
                return
            clients.append(client)
            try:
                await asyncio.wait_for(asyncio.shield(client.ready), ready_timeout)
            except TimeoutError:
                pass

    await asyncio.gather(*(open_one(plan) for plan in plans))
    reports.put(("ready", sum(bool(c.ready.done() and c.ready.result()) for c in clients), len(clients),
                 (failed + [c.first_error for c in clients if c.first_error])[:3]))
    await asyncio.to_thread(go.wait)
    histogram.clear()
    await asyncio.to_thread(done.wait)
    deadline = time.time() + drain_seconds
    while time.time() < deadline and not all(c.complete() for c in clients):
        await asyncio.sleep(0.1)
    reports.put(("result", [c.result() for c in clients], dict(histogram)))
    for client in clients:
        client.close()
    await asyncio.sleep(0.2)
    clock.close()


def clients_main(plans, ticks, clock_name, go, done, reports, options) -> None:
    """A client process: open its sockets, report ready, count ticks from `go` until drained after `done`."""
    asyncio.run(_clients(plans, ticks, clock_name, go, done, reports, **options))


def percentile(histogram: Counter, fraction: float) -> float | None:
    """The latency (ms) at `fraction` of the merged histogram."""
    total = sum(histogram.values())
    if not total:
        return None
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= fraction * total:
            return math.exp((bucket + 0.5) * BUCKET) / 1000
    return None


# --- the processes' share ----------------------------------------------------------------------------------

def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def rss_mib(pids) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pids) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def redis_calls(url: str) -> Counter:
    import redis

    stats = redis.Redis.from_url(url).info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): value["calls"] for name, value in stats.items()})


def profile_start(pids, name: str, seconds: float) -> list:
    """With BENCH_PYSPY=<folder> (and py-spy on PATH or BENCH_PYSPY_BIN): sample each server process while it
    ticks, into <folder>/<name>-<pid>.txt as collapsed stacks (py-spy's raw format); none without it."""
    import shutil
    import subprocess

    folder = os.environ.get("BENCH_PYSPY")
    binary = os.environ.get("BENCH_PYSPY_BIN") or shutil.which("py-spy")
    if not folder or not binary:
        return []
    Path(folder).mkdir(parents=True, exist_ok=True)
    return [subprocess.Popen([binary, "record", "--pid", str(pid), "--duration", str(max(1, int(seconds))),
                              "--rate", "250", "--nonblocking", "--format", "raw",
                              "--output", f"{folder}/{name}-{pid}.txt"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for pid in pids]


def profile_wait(profilers: list) -> None:
    for profiler in profilers:
        profiler.wait(timeout=120)


def report(results: list[dict]) -> None:
    print("\n| side | clients | ticks/s | p50 / p99 / p99.9 ms | got (median, least) | lost | older | "
          "Redis cmds/tick | RSS MiB per 1,000 | CPU s servers / clients / driver / redis / others, of wall s | "
          "server CPU us per delivery |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        def ms(value):
            return f"{value:.1f}" if value is not None else "-"
        cpu = r["cpu_s"]
        print(f"| {r['side']} | {r['clients']} ({r['ready']} ready) | {r['ticks']['rate']:.0f} | "
              f"{ms(r['p50_ms'])} / {ms(r['p99_ms'])} / {ms(r['p999_ms'])} | "
              f"{r['received_median']:.3f}, {r['received_least']:.3f} | {r['lost_pairs']} | {r['older']} | "
              f"{r['redis_per_tick'] if r['redis_per_tick'] is not None else '-'} | {r['rss_per_1000_mib']} | "
              f"{cpu['servers']} / {cpu['clients']} / {cpu['driver'] or '-'} / {cpu['redis'] or '-'} / "
              f"{cpu['foreign']}, of {cpu['wall']} | {r.get('server_us_per_delivery') or '-'} |")
