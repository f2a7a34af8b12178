"""budhitrade.daphne_server's SocketWriter against a socket that takes all, part, nothing, or breaks.

Run as `python -m budhitrade.tests.writer_cases` (test_daphne_writer.py does): importing daphne_server installs
Twisted's asyncio reactor, which the test process must not have. The writer drives a stand-in of the three
things it touches (autobahn's protocol, Twisted's TCP transport, the kernel socket) with each one's own
attribute names, and prints, per case, what reached the socket and what went to transport.write, as JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque

from budhitrade.daphne_server import OPEN, BackpressureServer, SendGate, SocketWriter, frame_bytes


class Socket:
    """The kernel socket: `takes` bytes of each send (None: all), or raises `error`."""

    def __init__(self, takes: int | None = None, error: type[OSError] | None = None):
        self.takes, self.error, self.sent = takes, error, []

    def send(self, data) -> int:
        if self.error is not None:
            raise self.error()
        taken = len(data) if self.takes is None else min(self.takes, len(data))
        self.sent.append(bytes(data[:taken]))
        return taken


class Transport:
    """Twisted's tcp.Connection as the writer reads it: `pending` bytes already wait in its buffer."""

    connected, disconnecting, offset = 1, False, 0

    def __init__(self, socket: Socket, pending: bytes = b""):
        self.socket, self.dataBuffer, self._tempDataBuffer, self.written = socket, pending, [], []

    def write(self, data) -> None:
        self.written.append(bytes(data))


class Protocol:
    """autobahn's WebSocketServerProtocol's settings as daphne leaves them."""

    state, _perMessageCompress, maskServerFrames, logFrames, logOctets = OPEN, None, False, False, False
    autoFragmentSize, maxMessagePayloadSize = 0, 0

    def __init__(self, transport: Transport):
        self.transport, self.send_queue = transport, deque()


def server() -> BackpressureServer:
    made = BackpressureServer.__new__(BackpressureServer)  # no daphne endpoints: only the writer's state
    made._held, made._encoded = [], {}
    return made


def writer(shared: BackpressureServer, socket: Socket, pending: bytes = b"") -> SocketWriter:
    return SocketWriter(shared, Protocol(Transport(socket, pending)), SendGate())


def seen(made: SocketWriter) -> dict:
    transport = made.transport
    return {"sent": b"".join(transport.socket.sent).hex(), "written": b"".join(transport.written).hex()}


async def cases() -> dict:
    out = {"frame_a": frame_bytes(b"a", 0x81).hex(), "frame_bc": frame_bytes(b"bc", 0x81).hex()}
    shared = server()
    both = [writer(shared, Socket()), writer(shared, Socket())]
    for made in both:
        out.setdefault("two_sockets_said", []).append([made.send_now("a"), made.send_now("bc")])
    out["encoded_texts"] = len(shared._encoded)
    out["before_pass_end"] = [seen(made) for made in both]
    await asyncio.sleep(0)  # the loop pass ends: held_flush
    out["two_sockets"] = [seen(made) for made in both]
    out["encoded_after"] = len(shared._encoded)
    for name, socket, pending in [("part", Socket(takes=3), b""), ("full", Socket(error=BlockingIOError), b""),
                                  ("reset", Socket(error=ConnectionResetError), b""),
                                  ("buffer_waits", Socket(), b"older")]:
        made = writer(server(), socket, pending)
        made.send_now("a")
        made.send_now("bc")
        await asyncio.sleep(0)
        out[name] = seen(made)
    paused = writer(server(), Socket())
    paused.gate.pauseProducing()
    out["paused_said"] = paused.send_now("a")
    paused.gate.resumeProducing()
    out["resumed_said"] = paused.send_now("a")
    closing = writer(server(), Socket())
    closing.protocol.state = OPEN + 1
    out["closing_said"] = closing.send_now("a")
    limited = writer(server(), Socket())
    limited.protocol.autoFragmentSize = 4
    out["limited_said"] = [limited.send_now("abcd"), limited.send_now("abcde")]
    gone = writer(server(), Socket())
    gone.gate.stopProducing()
    out["gone_said"] = gone.send_now("a")
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(cases())))
