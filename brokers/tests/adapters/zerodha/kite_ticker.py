"""A local Kite ticker for tests: it takes KiteTicker's handshake and messages and sends Kite's binary frames.

The packets are the recorded ones in resources/ticker_*.packet (base64),
framed as Kite frames a message: a 2-byte packet count, then each packet
after its 2-byte length. Kite's heartbeat on a quiet socket is one byte.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import struct
from http import HTTPStatus

import websockets

from brokers.tests.fixtures import ADAPTER_TESTS
from budhitrade.embedded_redis import free_port

HEARTBEAT = b"\x00"  # Kite's 1-byte heartbeat, sent when it has nothing else to send
WAIT = 30  # seconds: generous, the machine is shared


def packet(name: str) -> bytes:
    return base64.b64decode((ADAPTER_TESTS / "zerodha" / "resources" / f"{name}.packet").read_text())


def kite_frame(*packets: bytes) -> bytes:
    """One binary message as Kite sends it: the packet count, then each packet after its length."""
    return struct.pack(">H", len(packets)) + b"".join(struct.pack(">H", len(p)) + p for p in packets)


class KiteTickerServer:
    """A local Kite ticker: records each handshake and client message, sends what the test gives it.

    With `heartbeat_seconds` every connection gets Kite's heartbeat that
    often, and nothing else unless the test sends it; without, a connection
    is silent: open, taking subscriptions, sending nothing.
    """

    def __init__(self, *, refuse: HTTPStatus | None = None, heartbeat_seconds: float | None = None) -> None:
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self.refuse = refuse
        self.heartbeat_seconds = heartbeat_seconds
        self.heartbeats = 0  # sent, over every connection
        self.handshakes: list = []
        self.messages: asyncio.Queue = asyncio.Queue()
        self.received: list[tuple[int, dict]] = []  # (which connection, from 1; message)
        self.connections: list = []
        self.connection = None  # the latest
        self.connected, self.disconnected = asyncio.Event(), asyncio.Event()

    @contextlib.asynccontextmanager
    async def serve(self):
        async with websockets.serve(self.handler, "127.0.0.1", self.port, process_request=self.process_request):
            yield self

    def process_request(self, connection, request):
        self.handshakes.append(request)
        if self.refuse:
            return connection.respond(self.refuse, f"{self.refuse.phrase}\n")
        return None

    async def handler(self, connection) -> None:
        self.connections.append(connection)
        self.connection, number = connection, len(self.connections)
        self.connected.set()
        beating = asyncio.create_task(self._beat(connection)) if self.heartbeat_seconds else None
        try:
            async for message in connection:
                self.received.append((number, json.loads(message)))
                await self.messages.put(json.loads(message))
        finally:
            if beating is not None:
                beating.cancel()
            self.disconnected.set()

    async def _beat(self, connection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(self.heartbeat_seconds)
                await connection.send(HEARTBEAT)
                self.heartbeats += 1

    def subscribed(self, token: int) -> set[int]:
        """The connections (numbered from 1) on which `token` was subscribed."""
        return {number for number, message in self.received if message == {"a": "subscribe", "v": [token]}}

    async def next_message(self) -> dict:
        return await asyncio.wait_for(self.messages.get(), WAIT)

    async def send(self, *names: str) -> None:
        """The recorded packets `names`, in one Kite frame, on the latest connection."""
        await self.connection.send(kite_frame(*(packet(name) for name in names)))
