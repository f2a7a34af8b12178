"""A tiny ASGI app for test_daphne_frames: a WebSocket that sends a fixed run of text and binary messages, then closes.

`ws /frames` accepts, sends MESSAGES (every length encoding a frame header
has: 7-bit, 16-bit and 64-bit, text with multi-byte characters, binary) back
to back without pausing, then closes with CLOSE_CODE: what goes through
budhitrade.daphne_server's own frame writing and what must follow it in order.
"""

from __future__ import annotations

from budhitrade.tests.backpressure_app import report  # the HTTP side the test's server harness polls

CLOSE_CODE = 4001
MESSAGES: list[str | bytes] = [
    "a", "é" * 62, "x" * 125, "y" * 126, "₹" * 3000, "z" * 65535, "w" * 65536, b"\x00\xff" * 40_000,
    '{"type": "market_data", "data": {"ltp": "1.05"}}',
]


async def application(scope, receive, send):
    if scope["type"] == "http":
        await report(scope, receive, send)
        return
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    for message in MESSAGES:
        key = "bytes" if isinstance(message, bytes) else "text"
        await send({"type": "websocket.send", key: message})
    await send({"type": "websocket.close", "code": CLOSE_CODE})
    while (await receive())["type"] != "websocket.disconnect":
        pass
