"""Pushing messages to WebSocket groups without making the caller wait for Redis.

A request or a worker hands the message over and goes on; one background
thread per process owns an event loop and sends the messages one after
another, in the order they were handed over (so an order's PENDING never
arrives after its COMPLETE). A push is best-effort: the state it announces is
already committed, and a client that missed one reads it over HTTP.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from channels.layers import get_channel_layer

from budhitrade.logging import OutageLog

logger = logging.getLogger("budhitrade.publish")


_push_outage = OutageLog(logger, "channel_push_failed")


class _Publisher:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._pid = None

    def _start(self) -> None:
        import os

        with self._lock:
            if self._loop is not None and self._pid == os.getpid():
                return
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                self._queue = asyncio.Queue()
                loop.create_task(self._drain())
                ready.set()
                loop.run_forever()

            threading.Thread(target=run, name="channel-publisher", daemon=True).start()
            ready.wait()
            self._loop, self._pid = loop, os.getpid()

    async def _drain(self) -> None:
        layer = get_channel_layer()
        while True:
            group, message, done = await self._queue.get()
            try:
                await layer.group_send(group, message)
            except Exception:
                _push_outage.failed(group=group)
            else:
                _push_outage.succeeded()
            if done is not None:
                done.set()

    def send(self, group: str, message: dict, *, wait: bool = False) -> None:
        """Queue `message` for `group`; with `wait`, return once it is sent (flushes what was queued before)."""
        if get_channel_layer() is None:
            return
        self._start()
        done = threading.Event() if wait else None
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (group, message, done))
        if done is not None:
            done.wait(timeout=10)


publisher = _Publisher()


def group_push(group: str, message: dict) -> None:
    """Send `message` to a channel-layer group in the background, in order."""
    publisher.send(group, message)
