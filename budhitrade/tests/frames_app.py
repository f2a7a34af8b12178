"""A tiny ASGI app for test_daphne_frames: a WebSocket that sends a fixed run of text and binary messages, then closes.

`ws /frames` accepts, sends MESSAGES (every length encoding a frame header
has: 7-bit, 16-bit and 64-bit, text with multi-byte characters, binary) back
to back without pausing, then closes with CLOSE_CODE: what goes through
budhitrade.daphne_server's own frame writing and what must follow it in order.
`ws /shared` does the same for SHARED sockets at once, once all are connected:
each text to every socket through the scope's send_now (encoded once for
all), falling back to `await send` where it refuses, bytes always awaited.
"""

from __future__ import annotations

from budhitrade.tests.backpressure_app import report  # the HTTP side the test's server harness polls

CLOSE_CODE = 4001
MESSAGES: list[str | bytes] = [
    "a", "é" * 62, "x" * 125, "y" * 126, "₹" * 3000, "z" * 65535, "w" * 65536, b"\x00\xff" * 40_000,
    '{"type": "market_data", "data": {"ltp": "1.05"}}',
]


SHARED = 2
SEND_NOW = "budhitrade.send_now"
peers: list = []  # (send_now, send) of the /shared sockets connected so far


async def shared(scope, receive, send):
    peers.append((scope["extensions"][SEND_NOW], send))
    if len(peers) < SHARED:
        return
    group = peers[:]
    peers.clear()
    for message in MESSAGES:
        for send_now, peer_send in group:
            if isinstance(message, str) and send_now(message):
                continue
            key = "bytes" if isinstance(message, bytes) else "text"
            await peer_send({"type": "websocket.send", key: message})
    for _, peer_send in group:
        await peer_send({"type": "websocket.close", "code": CLOSE_CODE})


async def application(scope, receive, send):
    if scope["type"] == "http":
        await report(scope, receive, send)
        return
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    if scope["path"] == "/shared":
        await shared(scope, receive, send)
        while (await receive())["type"] != "websocket.disconnect":
            pass
        return
    for message in MESSAGES:
        key = "bytes" if isinstance(message, bytes) else "text"
        await send({"type": "websocket.send", key: message})
    await send({"type": "websocket.close", "code": CLOSE_CODE})
    while (await receive())["type"] != "websocket.disconnect":
        pass
