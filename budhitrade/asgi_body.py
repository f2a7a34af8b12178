"""A request body sent without a length (chunked) is read here, bounded, before Django sees it.

Django bounds a body by its declared Content-Length (and DRF reads a body
that declares none as empty), so a chunked body would be unbounded and then
ignored. This reads it, up to MAX_REQUEST_BODY_BYTES: a larger one is a 413
in the contract's shape; a smaller one reaches Django with its length
declared, as if the client had sent it. A body that declares its length
passes untouched (the body-size middleware answers that one, with the API's
headers).
"""

from __future__ import annotations

import json

from django.conf import settings


def _declares_length(scope) -> bool:
    return any(name == b"content-length" for name, _ in scope.get("headers", ()))


class ChunkedBodyLimit:
    """ASGI middleware around Django's HTTP application."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or _declares_length(scope):
            return await self.app(scope, receive, send)
        limit = settings.MAX_REQUEST_BODY_BYTES
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > limit:
                return await _too_large(send, limit)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope = {**scope, "headers": [*scope.get("headers", ()), (b"content-length", str(len(body)).encode())]}
        sent = False

        async def replay():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return await self.app(scope, replay, send)


async def _too_large(send, limit: int) -> None:
    content = json.dumps({"detail": f"Request body is larger than {limit} bytes.", "status_code": 413}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]})
    await send({"type": "http.response.body", "body": content})
