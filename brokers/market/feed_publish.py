"""What the market feed writes to Redis: each tick once on its instrument's channel, each stream's state.

A batch of ticks is one pipeline: a PUBLISH per instrument (the latest value
in the batch only) and one HSET of them all into the stream's last-value
hash, so Redis's work per tick is the same for one socket or ten thousand.
A failure (Redis away) loses these ticks, logged once per outage: newer ones
follow, and a tick is worth nothing late.
"""

from __future__ import annotations

import json
import logging

from django.utils import timezone

from brokers.domain import Quote
from brokers.market import keys, render
from brokers.market.keys import StreamMode
from brokers.pushes import FeedState
from budhitrade.logging import OutageLog

logger = logging.getLogger("budhitrade.market")
_outage = OutageLog(logger, "market_feed_publish_failed")


def tick_text(quote: Quote, *, segment: str, mode: StreamMode, token: str) -> str:
    """The `market_data` message's `data` as the channel carries it (compact JSON)."""
    return json.dumps(render.market_data(quote, segment=segment, mode=mode, token=token), separators=(",", ":"))


async def ticks_publish(redis, stream: str, ticks: dict[str, str]) -> None:
    """Publish each instrument's tick (key -> text) on its channel and keep it as the instrument's last value."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for key, text in ticks.items():
                pipe.publish(keys.tick_channel(stream, key), text)
            pipe.hset(keys.last_key(stream), mapping=ticks)
            await pipe.execute()
        _outage.succeeded()
    except Exception:
        _outage.failed()


async def status_publish(redis, stream: str, *, feed: str, state: FeedState, message: str) -> bool:
    """Tell the stream's sockets its state (status channel) and keep it for those that come later (status key);
    whether Redis took it."""
    status = json.dumps({"type": "status", "stream": stream, "feed": feed, "state": state.value,
                         "message": message, "timestamp": render.iso_utc(timezone.now())})
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.publish(keys.status_channel(stream), status)
            pipe.set(keys.status_key(stream), status)
            await pipe.execute()
    except Exception:
        _outage.failed()
        return False
    _outage.succeeded()
    return True


async def status_forget(redis, stream: str) -> None:
    """The stream is closed because nobody wants it: no state to show a later socket."""
    try:
        await redis.delete(keys.status_key(stream))
    except Exception:
        _outage.failed()
