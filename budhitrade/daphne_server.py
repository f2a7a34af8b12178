"""daphne with a bounded send buffer per WebSocket: a slow client makes its own `await send` wait.

Under plain daphne an ASGI app's `await send({"type": "websocket.send"})`
returns at once: the frame goes into Twisted's transport buffer, which grows
without bound while the client reads slower than the app sends. The market
socket's hub conflates ticks while a socket's send is pending, so it needs
that send to wait instead (issue 11 §6: a slow client never grows memory).

Twisted already knows when a connection's buffer is full: a transport asks its
registered streaming producer to pauseProducing() once more than its
bufferSize (64 KiB) waits unsent, and to resumeProducing() once it has
drained. `SendGate` is that producer for each WebSocket, holding an
asyncio.Event; `BackpressureServer.handle_reply` writes a `websocket.send` and
then waits on the event while the transport is paused. So a slow client holds
at most one message beyond the buffer (plus the kernel's socket buffers), the
value written is the newest the app had, and the app's next value waits in the
app, where it can be replaced. Close and accept messages never wait. The
connection closing (either side) opens the gate, so no sender waits forever.

A `websocket.send` on an open socket skips autobahn's sendMessage (whose
per-message bookkeeping and debug-log arguments cost more than the frame):
each socket's `SocketWriter` builds the frame itself, holds the socket's
frames until the end of the loop pass (at most 16 KiB) and writes them in
one send, straight to the socket while Twisted's buffer is empty. An app that sends the same text
to many sockets may also call the scope's `budhitrade.send_now` extension
(SEND_NOW): it frames the text at once, without a coroutine, and says False
where the send must go through `await send` instead (the buffer is full, the
socket closing); a text is encoded once per loop pass whatever the number of
sockets it goes to, and one callback at the pass's end writes every socket's
frames. What the process loaded before serving is frozen out of the cyclic
garbage collector (gc.freeze), so a full collection does not stall every
socket for the whole heap's walk. bench/README.md has the figures.

Run it as daphne, with daphne's own flags (`serve` does):
`python -m budhitrade.daphne_server --fd 3 budhitrade.asgi:application`.
"""

from __future__ import annotations

import asyncio
import gc
import logging

# daphne.server installs Twisted's asyncio reactor when imported: it comes before anything that may import Twisted.
from daphne.server import Server  # isort:skip
from daphne.cli import CommandLineInterface  # isort:skip
from daphne.ws_protocol import WebSocketProtocol  # isort:skip
from twisted.internet.interfaces import IPushProducer  # isort:skip
from zope.interface import implementer  # isort:skip

logger = logging.getLogger(__name__)


@implementer(IPushProducer)
class SendGate:
    """One WebSocket's send gate: open while its transport takes writes, shut while its buffer is full.

    It takes the place of the producer daphne's HTTP channel registered on the
    connection before the upgrade, and passes pause and resume on to it, so the
    transport behaves toward that channel as it did before. `sendable` says, in
    one attribute, that the gate is open and the connection not gone.
    """

    def __init__(self, previous: IPushProducer | None = None):
        self.previous = previous
        self.open = asyncio.Event()
        self.open.set()
        self.closed = False
        self.sendable = True

    def pauseProducing(self) -> None:
        if not self.closed:
            self.open.clear()
            self.sendable = False
        if self.previous is not None:
            self.previous.pauseProducing()

    def resumeProducing(self) -> None:
        self.open.set()
        self.sendable = not self.closed
        if self.previous is not None:
            self.previous.resumeProducing()

    def stopProducing(self) -> None:
        """The connection is gone: release every waiting sender for good."""
        self.close()

    def close(self) -> None:
        self.closed = True
        self.sendable = False
        self.open.set()

    async def wait(self) -> None:
        """Until the transport takes writes again or the connection has closed."""
        while not self.open.is_set():
            await self.open.wait()


FRAMES_HELD = 16 * 1024  # a socket's frames held for the end of a loop pass, at most (a quarter of Twisted's buffer)
SEND_NOW = "budhitrade.send_now"  # the scope extension: send_now(text) -> bool (see the module's docstring)
OPEN = WebSocketProtocol.STATE_OPEN


class BackpressureServer(Server):
    """daphne's Server whose WebSocket sends wait while that connection's transport buffer is full."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._held: list[SocketWriter] = []  # sockets holding frames for the end of this loop pass
        self._encoded: dict[str, tuple[bytes, int]] = {}  # this pass's texts framed (and their length): once each

    def run(self):
        # Everything loaded so far (Django, the app, the URL conf) lives as long as the process: out of the cyclic
        # collector's way, so a full collection walks only what sockets and requests made, not the whole heap.
        gc.freeze()
        super().run()

    def protocol_connected(self, protocol):
        super().protocol_connected(protocol)
        if isinstance(protocol, WebSocketProtocol):
            gate = gate_install(protocol.transport)
            if gate is not None:
                self.connections[protocol]["writer"] = SocketWriter(self, protocol, gate)

    def protocol_disconnected(self, protocol):
        writer = self.connections.get(protocol, {}).get("writer")
        if writer is not None:
            writer.gate.close()
        super().protocol_disconnected(protocol)

    def create_application(self, protocol, scope):
        details = self.connections.get(protocol)
        if details is not None and details.get("writer") is not None:
            scope.setdefault("extensions", {})[SEND_NOW] = details["writer"].send_now
        return super().create_application(protocol, scope)

    async def handle_reply(self, protocol, message):
        details = self.connections.get(protocol)
        writer = details.get("writer") if details else None
        if writer is None or message.get("type") != "websocket.send":
            if writer is not None:
                writer.flush()  # frames sent before a close go out before it
            return await super().handle_reply(protocol, message)
        gate = writer.gate
        if not gate.open.is_set():
            await gate.wait()  # another sender on this socket left the buffer full
        frame = writer.frame(message)
        if frame is None:
            writer.flush()
            await super().handle_reply(protocol, message)
        else:
            writer.hold(frame)
        if not gate.open.is_set():
            await gate.wait()  # this frame filled it: the app's next value waits in the app

    def held_flush(self) -> None:
        """The loop pass's end: write every socket's held frames."""
        held, self._held = self._held, []
        self._encoded.clear()
        for writer in held:
            writer.flush()


class SocketWriter:
    """One WebSocket's own send path: its frames, held for the end of the loop pass and written straight to its
    socket. Where it cannot frame a message (see `frame`), autobahn's sendMessage sends it."""

    __slots__ = ("server", "protocol", "transport", "gate", "frames", "framed", "limit", "direct")

    def __init__(self, server: BackpressureServer, protocol, gate: SendGate):
        self.server, self.protocol, self.transport, self.gate = server, protocol, protocol.transport, gate
        self.frames: list[bytes] = []
        self.framed = 0  # bytes held
        self.limit: float | None = None  # the longest message it frames itself, once the socket is open
        # TLS (which `serve` never runs) encrypts in the transport: only its own write may take the bytes.
        self.direct = not getattr(self.transport, "TLS", False) and hasattr(self.transport, "socket")

    def send_now(self, text: str) -> bool:
        """Frame `text` for the socket now (written at the pass's end); False, and nothing sent, where it must go
        through `await send`: the client's buffer is full, the socket is not open, or autobahn's path is needed."""
        if not self.gate.sendable or not text:  # an empty message goes autobahn's way, as through `send`
            return False
        encoded = self.server._encoded.get(text)  # cleared with the pass's frames (held_flush)
        if encoded is None:  # the same frame for every socket: unmasked, uncompressed
            payload = text.encode()
            encoded = self.server._encoded[text] = frame_bytes(payload, 0x81), len(payload)
        frame, length = encoded
        if not self.framable(length):
            return False
        self.hold(frame)
        return True

    def framable(self, length: int) -> bool:
        """Whether a message of `length` bytes may go out as one plain frame written here: the socket open,
        nothing queued in autobahn, and no compression, masking, fragmenting, size limit or frame log."""
        protocol = self.protocol
        if protocol.state != OPEN or protocol.send_queue or self.gate.closed:
            return False
        if self.limit is None:  # negotiated in the handshake, fixed from here on
            self.limit = plain_limit(protocol)
        return length <= self.limit

    def frame(self, message) -> bytes | None:
        """A `websocket.send` as one unmasked, uncompressed frame; None where autobahn's own path is needed.

        autobahn's sendMessage does the same write after per-message asserts, traffic statistics and debug log
        calls whose arguments (coloured names) are built even when the log is off: most of a small message's cost.
        """
        text = message.get("text")
        payload = text.encode() if text is not None else message.get("bytes")
        if not payload or (text is not None and message.get("bytes")) or not self.framable(len(payload)):
            return None
        return frame_bytes(payload, 0x81 if text is not None else 0x82)  # FIN and text (or binary)

    def hold(self, frame: bytes) -> None:
        frames = self.frames
        if not frames:  # the socket's first frame of this pass: written with every other socket's at its end
            held = self.server._held
            if not held:
                asyncio.get_running_loop().call_soon(self.server.held_flush)
            held.append(self)
        frames.append(frame)
        self.framed += len(frame)
        if self.framed >= FRAMES_HELD:  # an app that sends without pausing: write now, the gate may shut
            self.flush()

    def flush(self) -> None:
        """Write the held frames in one go; none once the socket began to close (autobahn too sends no data after
        a close frame).

        Sent at once, what the kernel takes, when nothing waits in Twisted's buffer, as asyncio's transports do;
        the rest (or all, where anything waits) goes through transport.write, whose buffer pauses the gate past
        64 KiB. transport.write alone registers the socket for writing and sends on the next loop pass, then
        unregisters: two epoll_ctl calls and a reactor callback a pass for each socket, more than the send itself.
        """
        frames = self.frames
        if not frames:
            return
        data = frames[0] if len(frames) == 1 else b"".join(frames)
        frames.clear()
        self.framed = 0
        if self.protocol.state != OPEN:
            return
        transport = self.transport
        if (self.direct and transport.connected and not transport.disconnecting and not transport._tempDataBuffer
                and transport.offset >= len(transport.dataBuffer)):
            try:
                sent = transport.socket.send(data)
            except OSError:  # full (0 sent) or broken: transport.write's own send finds out which
                sent = 0
            if sent >= len(data):
                return
            data = data[sent:]
        transport.write(data)


def plain_limit(protocol) -> float:
    """The longest message a socket's writer frames itself: none (-1) under compression, masking or a frame log;
    else up to autobahn's fragment size and message size limit, where set."""
    if protocol._perMessageCompress or protocol.maskServerFrames or protocol.logFrames or protocol.logOctets:
        return -1
    return min([n for n in (protocol.autoFragmentSize, protocol.maxMessagePayloadSize) if n > 0],
               default=float("inf"))


def frame_bytes(payload: bytes, opcode: int) -> bytes:
    """One unmasked server frame of `payload`."""
    length = len(payload)
    if length <= 125:
        header = bytes((opcode, length))
    elif length <= 0xFFFF:
        header = bytes((opcode, 126)) + length.to_bytes(2, "big")
    else:
        header = bytes((opcode, 127)) + length.to_bytes(8, "big")
    return header + payload


def gate_install(transport) -> SendGate | None:
    """Register a SendGate as the transport's streaming producer, in place of (and passing on to) the one there.

    None, and the socket sends as under plain daphne, where the transport is not
    a plain TCP one whose producer can be read (TLS wraps it; `serve` runs none).
    """
    if not hasattr(transport, "producer"):
        logger.warning("No send backpressure on %r: its producer cannot be replaced", transport)
        return None
    previous = transport.producer
    gate = SendGate(previous if transport.streamingProducer else None)
    if previous is not None:
        transport.unregisterProducer()
    transport.registerProducer(gate, True)  # on a transport already gone this calls stopProducing: gate closed
    if transport.producerPaused:  # the buffer was full already: resumeProducing will come when it drains
        gate.open.clear()
        gate.sendable = False
    return gate


class BackpressureCommandLineInterface(CommandLineInterface):
    """daphne's command line, serving with BackpressureServer."""

    server_class = BackpressureServer


if __name__ == "__main__":
    BackpressureCommandLineInterface.entrypoint()
