"""What the market feed writes to Redis: a batch of ticks once to each web process that wants some, each stream's state.

A batch of ticks (the latest value per instrument) is one script call in
Redis: for each web process in keys.WANT_PROCESSES it looks the batch up in
that process's want hash and PUBLISHes the ticks it wants as one message on
the process's channel (keys.process_channel), then HSETs them all into the
stream's last-value hash. Redis's work per tick grows with web processes,
never with sockets, and a hub reads one message per pass instead of one per
instrument. The want hash is read in the same call, so a process gets every
tick from the moment its want is written (it listens on its channel before
it writes one). A failure (Redis away) loses these ticks, logged once per
outage: newer ones follow, and a tick is worth nothing late.

A process message is lines: the stream, then each instrument key and its
`market_data` data (compact JSON, so never a newline inside).
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


# KEYS: the process set, the stream's last-value hash. ARGV: the stream, the process channel prefix, the want
# hash prefix, then key, text pairs. Returns how many processes got a message. The want hashes are named from the
# set's members (a single Redis, as everything here).
_PUBLISH = """
local stream, n = ARGV[1], (#ARGV - 3) / 2
local fields, last = {}, {}
for i = 1, n do
  fields[i] = stream .. '#' .. ARGV[2 + 2 * i]
  last[2 * i - 1], last[2 * i] = ARGV[2 + 2 * i], ARGV[3 + 2 * i]
end
local sent = 0
for _, process in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local wanted = redis.call('HMGET', ARGV[3] .. process, unpack(fields))
  local out = {stream}
  for i = 1, n do
    if wanted[i] then out[#out + 1] = ARGV[2 + 2 * i]; out[#out + 1] = ARGV[3 + 2 * i] end
  end
  if #out > 1 then
    redis.call('PUBLISH', ARGV[2] .. process, table.concat(out, '\\n'))
    sent = sent + 1
  end
end
redis.call('HSET', KEYS[2], unpack(last))
return sent
"""


async def ticks_publish(redis, stream: str, ticks: dict[str, str]) -> int:
    """Send each web process the ticks (key -> text) it wants, keep each as the instrument's last value; how many
    processes got some (0 when Redis failed)."""
    if not ticks:
        return 0
    args = [stream, keys.process_channel(""), keys.want_key("")]
    for key, text in ticks.items():
        args += (key, text)
    try:
        sent = await redis.register_script(_PUBLISH)(keys=[keys.WANT_PROCESSES, keys.last_key(stream)], args=args)
        _outage.succeeded()
        return sent
    except Exception:
        _outage.failed()
        return 0


def process_message_read(data: bytes) -> tuple[str, list[tuple[str, str]]]:
    """A process message as (stream, [(instrument key, data text), ...]), in the order published."""
    stream, *rest = data.decode().split("\n")
    return stream, list(zip(rest[0::2], rest[1::2]))


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
