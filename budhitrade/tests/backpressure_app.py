"""A tiny ASGI app for test_backpressure: a WebSocket that sends as fast as `await send` lets it, and its progress.

`ws /flood?name=<n>&count=<messages>&size=<bytes>` accepts, then sends `count`
binary messages of `size` bytes, counting each send started and completed.
`GET /progress?name=<n>` answers that count and the process's resident memory
as JSON, so a test outside the server sees whether a send is waiting.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

floods: dict[str, dict] = {}


def resident_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def query(scope) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(scope["query_string"].decode()).items()}


async def flood(scope, receive, send):
    params = query(scope)
    progress = floods.setdefault(params["name"], {"started": 0, "completed": 0, "finished": False})
    assert (await receive())["type"] == "websocket.connect"
    await send({"type": "websocket.accept"})
    payload = b"x" * int(params["size"])
    for _ in range(int(params["count"])):
        progress["started"] += 1
        await send({"type": "websocket.send", "bytes": payload})
        progress["completed"] += 1
    progress["finished"] = True
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def report(scope, receive, send):
    progress = floods.get(query(scope).get("name", ""), {})
    body = json.dumps({**progress, "rss_kib": resident_kib()}).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


async def application(scope, receive, send):
    if scope["type"] == "websocket":
        await flood(scope, receive, send)
    elif scope["type"] == "http":
        await report(scope, receive, send)
