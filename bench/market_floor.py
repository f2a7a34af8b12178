"""bench/market_fanout.py's ticks, and the floor server that broadcasts them.

A tick is (instrument i, seq n): its ltp is the instrument's paper price plus
n ticks of 0.05, so a client tells which tick it got from the ltp alone, on
either server. The ticker writes each tick's publish time (time.time(), one
clock for every process on the machine) into shared memory just before it
emits, and a client takes its receive time minus that as the tick's latency.
Seq 0 is each instrument's first value, sent on subscribe, and not counted.
When the ticker stops it writes each instrument's last seq there too, and a
client that never got its instruments' last seqs counts them as lost.

The floor is a bare `websockets` server in one process: it runs the same
ticker in-process and `broadcast`s each tick's text to the sockets subscribed
to its instrument (no Redis, no conflation, no backpressure: what a client
cannot take waits in the server's buffers).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from multiprocessing import shared_memory  # children are forked: they share the maker's resource tracker

STEP = 0.05


def iso(stamp: float) -> str:
    """render.iso_utc's format: UTC, milliseconds, `Z`."""
    at = datetime.fromtimestamp(stamp, timezone.utc)
    return at.strftime("%Y-%m-%dT%H:%M:%S") + f".{at.microsecond // 1000:03d}Z"


class Clock:
    """Shared memory of publish times (`slots` per instrument) and, at the end, each instrument's last seq."""

    def __init__(self, name: str | None, instruments: int, slots: int):
        self.instruments, self.slots = instruments, slots
        size = 8 * (instruments * slots + instruments)
        self.memory = shared_memory.SharedMemory(name=name, create=name is None, size=size)
        self.table = self.memory.buf.cast("d")
        if name is None:
            for index in range(len(self.table)):
                self.table[index] = 0.0
            for index in range(instruments):
                self.table[instruments * slots + index] = -1.0

    def sent(self, i: int, seq: int) -> float:
        return self.table[i * self.slots + seq]

    def final(self, i: int) -> int:
        return int(self.table[self.instruments * self.slots + i])

    def close(self, unlink: bool = False) -> None:
        self.table.release()
        self.memory.close()
        if unlink:
            self.memory.unlink()


@dataclass(frozen=True)
class Ticks:
    """The run's instruments (key `segment|token`, paper price, `market_data` data template) and rate."""

    keys: list[str]
    bases: list[float]
    templates: list[dict]
    rate: float
    seconds: float

    @property
    def slots(self) -> int:
        return int(self.rate * self.seconds / len(self.keys)) + 3

    def data(self, i: int, seq: int, stamp: float) -> str:
        """The instrument's `market_data` data at tick `seq`, as the feed publishes it (compact JSON)."""
        data = dict(self.templates[i], ltp=f"{self.bases[i] + seq * STEP:.2f}", timestamp=iso(stamp), volume=seq)
        return json.dumps(data, separators=(",", ":"))

    async def run(self, clock: Clock, emit) -> dict:
        """Emit `rate` ticks a second for `seconds`, round-robin over the instruments, in batches as they fall due.

        A batch holds each instrument at most once, so nothing is conflated before it is published.
        """
        count, total = len(self.keys), int(self.rate * self.seconds)
        started = time.time()
        emitted, behind, batches = 0, 0.0, 0
        while emitted < total:
            due = min(total, int((time.time() - started) * self.rate) + 1, emitted + count)
            stamp = time.time()
            batch = [(n % count, n // count + 1) for n in range(emitted, due)]
            for i, seq in batch:
                clock.table[i * clock.slots + seq] = stamp
            await emit(batch, stamp)
            behind = max(behind, stamp - (started + emitted / self.rate))
            emitted, batches = due, batches + 1
            await asyncio.sleep(max(0.001, started + emitted / self.rate - time.time()))
        elapsed = time.time() - started
        for i in range(count):
            clock.table[count * clock.slots + i] = (total - 1 - i) // count + 1 if i < total else 0
        return {"ticks": total, "seconds": elapsed, "rate": total / elapsed, "batches": batches,
                "most_behind_ms": behind * 1000}


# --- the floor ----------------------------------------------------------------------------------------------

async def _floor(ticks: Ticks, clock_name: str, go, reports) -> None:
    from websockets.asyncio.server import broadcast, serve
    from websockets.exceptions import ConnectionClosed

    clock = Clock(clock_name, len(ticks.keys), ticks.slots)
    subscribers: dict[str, set] = defaultdict(set)
    first = {key: json.dumps({"type": "market_data", "data": json.loads(ticks.data(i, 0, time.time()))})
             for i, key in enumerate(ticks.keys)}

    async def socket(ws):
        mine: list[str] = []
        try:
            await ws.send(json.dumps({"type": "connection", "message": "Connected successfully"}))
            async for raw in ws:
                message = json.loads(raw)
                if message.get("action") != "subscribe":
                    continue
                keys = [f"{item['exchange_segment']}|{item['instrument_token']}"
                        for item in message["instrument_tokens"]]
                for key in keys:
                    subscribers[key].add(ws)
                    mine.append(key)
                await ws.send(json.dumps({"type": "status", "event": "subscribed", "count": len(mine)}))
                for key in keys:
                    await ws.send(first[key])
        except ConnectionClosed:
            pass
        finally:
            for key in mine:
                subscribers[key].discard(ws)

    async def emit(batch, stamp):
        for i, seq in batch:
            text = '{"type":"market_data","data":' + ticks.data(i, seq, stamp) + "}"
            broadcast(subscribers[ticks.keys[i]], text)

    async with serve(socket, "127.0.0.1", 0, ping_interval=None, max_size=2 ** 20) as server:
        reports.put(("port", server.sockets[0].getsockname()[1]))
        await asyncio.to_thread(go.wait)
        reports.put(("ticked", await ticks.run(clock, emit)))
        await asyncio.Future()  # serving the drain until the orchestrator ends this process


def floor_main(ticks, clock_name, go, reports) -> None:
    """The floor server process (ended by the orchestrator)."""
    asyncio.run(_floor(ticks, clock_name, go, reports))
