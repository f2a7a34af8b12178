"""One web process's market fan-out: Redis brings each feed pass once, the hub hands it to this process's sockets.

The hub listens on its own process channel (keys.process_channel) from
before it writes a want, and the market-feed process sends on it, per pass,
one message of the ticks this process wants (feed_publish.ticks_publish), so
Redis sends a tick once to each process that needs it, whatever the number
of sockets. The hub offers each tick to the outbox of each socket that wants
the instrument, which keeps only the latest value per instrument
(conflation: a slow socket skips values, never delays another, never queues
without bound). The hub reads every message already received in one go and
hands out only each instrument's latest, so a process that fell behind
catches up in one pass.

What the sockets want reaches the feed as this process's want hash
(keys.want_key): per stream and instrument the highest mode any socket here
asked for, written when it changes (and a note on keys.DEMAND_CHANNEL); the
feed reads it to carry the instrument and, at each publish, to route it
here. The process's heartbeat (keys.process_key) says the hash is live; when
Redis lost it (a restart) the heartbeat finds it gone and writes it all
again, and the listener re-subscribes its channels after a reconnect.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import defaultdict
from typing import Protocol

from brokers.market import keys
from brokers.market.feed_publish import process_message_read
from brokers.market.keys import StreamMode
from brokers.market.registry import async_client
from budhitrade.logging import OutageLog

logger = logging.getLogger("budhitrade.market")
_outage = OutageLog(logger, "market_hub_redis_failed")
HEARTBEAT_SECONDS = 5
HEARTBEAT_TTL_SECONDS = 15
RETRY_SECONDS = 1
READ_BATCH = 2000  # messages taken in one pass at most, so a flood never holds the loop for long


class Sink(Protocol):
    """A socket as the hub sees it."""

    client_id: str

    def offer(self, key: str, text: str) -> None:
        """The instrument's newest `market_data` message (JSON text)."""

    def offer_status(self, text: str) -> None:
        """A feed `status` message (JSON text)."""

    async def reassert(self) -> None:
        """Write the socket's registry record again (Redis lost it)."""


def _without_depth(raw: str) -> str:
    data = json.loads(raw)
    data.pop("depth", None)
    return json.dumps(data)


class Hub:
    def __init__(self) -> None:
        self._reset()
        self._loop: asyncio.AbstractEventLoop | None = None

    def _reset(self) -> None:
        self.process_id = uuid.uuid4().hex
        # tick channel (an instrument on a stream: keys.tick_channel) -> {sink: mode}; status channel -> sinks.
        self.ticks: dict[str, dict[Sink, StreamMode]] = {}
        self.statuses: dict[str, set[Sink]] = defaultdict(set)
        self._key_of: dict[str, str] = {}  # tick channel -> instrument key
        self._index: dict[tuple[str, str], bool] = {}
        self._wanted: dict[str, str] = {}  # want field -> want value, as last written
        self._sinks: set[Sink] = set()
        self._redis = None
        self._pubsub = None
        # A fresh PubSub opens its connection at its first command: two first commands at once (the listener's
        # and start's, or a socket's) would each open one, and the one overwritten stays subscribed, unread.
        self._pubsub_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self._dirty = False  # a want write failed: the heartbeat writes them all again

    # --- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the heartbeat and the listener on the running loop (once per process; a new loop, as each
        test has, starts a new hub)."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        for task in self._tasks:
            task.cancel()
        self._reset()
        # Everything a socket uses exists before the first await: a socket that connects meanwhile finds a whole
        # hub, and one that found Redis down leaves a hub whose tasks write it all once Redis is back.
        self._redis = async_client()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        self._tasks = [loop.create_task(self._heartbeat()), loop.create_task(self._listen())]
        self._loop = loop
        await self._redis.set(keys.process_key(self.process_id), "1", ex=HEARTBEAT_TTL_SECONDS)
        await self._redis.sadd(keys.WANT_PROCESSES, self.process_id)
        await self._pubsub_subscribe(keys.process_channel(self.process_id))  # before any want is written

    @property
    def redis(self):
        return self._redis

    # --- what sockets want ---------------------------------------------------------------------------------

    async def subscribe(self, sink: Sink, stream: str, wanted: dict[str, tuple[StreamMode, bool]]) -> None:
        """The socket wants these instruments (key -> (mode, is_index)) on `stream`, and the stream's status."""
        self._sinks.add(sink)
        new_channels = []
        for key, (mode, is_index) in wanted.items():
            channel = keys.tick_channel(stream, key)
            self._key_of[channel] = key
            self._index[(stream, key)] = is_index
            self.ticks.setdefault(channel, {})[sink] = mode
        status = keys.status_channel(stream)
        if not self.statuses[status]:
            new_channels.append(status)
        self.statuses[status].add(sink)
        if new_channels:
            try:
                await self._pubsub_subscribe(*new_channels)
            except Exception:  # a fresh pub/sub, which the listener subscribes to every channel, once Redis answers
                await self._reset_pubsub()
                raise
        await self._publish_wants(stream, list(wanted))

    async def unsubscribe(self, sink: Sink, stream: str, instrument_keys: list[str]) -> None:
        for key in instrument_keys:
            channel = keys.tick_channel(stream, key)
            subscribers = self.ticks.get(channel)
            if subscribers is None or subscribers.pop(sink, None) is None:
                continue
            if not subscribers:
                del self.ticks[channel]
                self._key_of.pop(channel, None)
        await self._publish_wants(stream, instrument_keys)

    async def detach(self, sink: Sink, stream: str, instrument_keys: list[str]) -> None:
        """The socket is gone: drop all it wanted."""
        self._sinks.discard(sink)
        try:
            await self.unsubscribe(sink, stream, instrument_keys)
            status = keys.status_channel(stream)
            self.statuses[status].discard(sink)
            if not self.statuses[status]:
                del self.statuses[status]
                await self._pubsub.unsubscribe(status)
        except Exception:  # Redis is away: the heartbeat writes the wants anew when it is back
            _outage.failed()

    def _want_of(self, stream: str, key: str) -> str | None:
        subscribers = self.ticks.get(keys.tick_channel(stream, key))
        if not subscribers:
            return None
        return keys.want_value(max(subscribers.values()), self._index.get((stream, key), False))

    async def _publish_wants(self, stream: str, instrument_keys: list[str]) -> None:
        changed, dropped = {}, []
        for key in instrument_keys:
            field = keys.want_field(stream, key)
            value = self._want_of(stream, key)
            if value == self._wanted.get(field):
                continue
            if value is None:
                self._wanted.pop(field, None)
                dropped.append(field)
            else:
                self._wanted[field] = value
                changed[field] = value
        if not changed and not dropped:
            return
        want = keys.want_key(self.process_id)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                if changed:
                    pipe.hset(want, mapping=changed)
                if dropped:
                    pipe.hdel(want, *dropped)
                pipe.sadd(keys.WANT_PROCESSES, self.process_id)
                pipe.publish(keys.DEMAND_CHANNEL, self.process_id)
                await pipe.execute()
        except Exception:
            self._dirty = True
            raise

    async def _write_all_wants(self) -> None:
        want = keys.want_key(self.process_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(want)
            if self._wanted:
                pipe.hset(want, mapping=self._wanted)
            pipe.sadd(keys.WANT_PROCESSES, self.process_id)
            pipe.publish(keys.DEMAND_CHANNEL, self.process_id)
            await pipe.execute()
        self._dirty = False

    # --- the background tasks ------------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            try:
                previous = await self._redis.set(keys.process_key(self.process_id), "1", ex=HEARTBEAT_TTL_SECONDS,
                                                 get=True)
                if previous is None:  # Redis lost this process's state (restart, or a pause past the TTL)
                    await self._write_all_wants()
                    for sink in list(self._sinks):
                        await sink.reassert()
                elif self._dirty:
                    await self._write_all_wants()
                _outage.succeeded()
            except Exception:
                _outage.failed()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _listen(self) -> None:
        while True:
            try:
                if not self._pubsub.subscribed:
                    await self._pubsub_subscribe(keys.process_channel(self.process_id),
                                                 *(c for c, s in self.statuses.items() if s), unless_subscribed=True)
                message = await self._pubsub.get_message(timeout=1.0)
                if message is not None:
                    await self._read_on(message)
                _outage.succeeded()
            except asyncio.CancelledError:
                raise
            except Exception:
                _outage.failed()
                await self._reset_pubsub()
                await asyncio.sleep(RETRY_SECONDS)

    async def _pubsub_subscribe(self, *channels: str, unless_subscribed: bool = False) -> None:
        """SUBSCRIBE on the hub's one pub/sub connection (one at a time: see _pubsub_lock)."""
        async with self._pubsub_lock:
            if not (unless_subscribed and self._pubsub.subscribed):
                await self._pubsub.subscribe(*channels)

    async def _reset_pubsub(self) -> None:
        try:
            await self._pubsub.aclose()
        except Exception:
            pass
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)

    async def _read_on(self, message: dict) -> None:
        """Take every message already received with this one (at most READ_BATCH), each channel's latest only,
        then hand them out: a process that fell behind catches up in one pass instead of sending each socket
        every tick it missed, and each socket's frames of the pass go out in one write."""
        mine = keys.process_channel(self.process_id).encode()
        latest: dict[str, str] = {}  # tick channel, or status channel -> its newest text
        statuses: set[str] = set()
        for _ in range(READ_BATCH):
            if message.get("type") == "message":
                if message["channel"] == mine:
                    stream, ticks = process_message_read(message["data"])
                    for key, text in ticks:
                        channel = keys.tick_channel(stream, key)
                        latest.pop(channel, None)  # to the back: the order of the newest values is kept
                        latest[channel] = text
                else:
                    channel = message["channel"].decode()
                    latest.pop(channel, None)
                    latest[channel] = message["data"].decode()
                    statuses.add(channel)
            message = await self._pubsub.get_message(timeout=0)  # None once nothing more is buffered
            if message is None:
                break
        for channel, text in latest.items():
            if channel in statuses:
                for sink in list(self.statuses.get(channel, ())):
                    sink.offer_status(text)
            else:
                self._dispatch(channel, text)

    def _dispatch(self, channel: str, raw: str) -> None:
        subscribers = self.ticks.get(channel)
        if subscribers:
            key = self._key_of[channel]
            full = '{"type": "market_data", "data": ' + raw + "}"
            if '"depth"' not in raw:  # one look per tick, not per socket
                for sink in list(subscribers):
                    sink.offer(key, full)
                return
            lean = None
            for sink, mode in list(subscribers.items()):
                if mode >= StreamMode.DEPTH:
                    sink.offer(key, full)
                else:
                    if lean is None:
                        lean = '{"type": "market_data", "data": ' + _without_depth(raw) + "}"
                    sink.offer(key, lean)


hub = Hub()
