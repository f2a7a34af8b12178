"""One stream's upstream side in the market feed: open its market streams, carry what is wanted, publish ticks.

A runner holds the upstream MarketStreams of one stream ("paper", or one
broker connection's id) and keeps them carrying what the web processes want
(demand.plan), sharded over up to the adapter's `market_streams_per_key`
streams of `max_instruments` each; an instrument beyond that is left out and
named in a `status` message. Each batch of ticks read is published once
(feed_publish), at the mode the instrument is carried at.

Never stale in silence: while the market is open, a stream with instruments
that brings no fresh tick (an exchange timestamp newer than the instrument's
last, or none at all: a value repeated after a resubscribe is not news) and
no heartbeat (a FeedStatusPush up) for MARKET_FEED_STALE_SECONDS is stale.
Then, as when a stream ends or its broker cannot be reached, the runner says
`recovering`, closes everything, and after a backoff (1 s doubling to 30 s)
opens again from the connection as stored now and resubscribes everything;
the first fresh tick after says `up`. An expired session marks the
connection expired and says `down` until the connection is connected again
(looked at every MARKET_FEED_RESCAN_SECONDS).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from brokers.adapters.base import BrokerAdapter, BrokerError, BrokerSessionExpired
from brokers.adapters.streams import MarketStream, StreamInstrument
from brokers.market import keys
from brokers.market.demand import Plan, Wants, plan
from brokers.market.feed_publish import status_forget, status_publish, tick_text, ticks_publish
from brokers.market.feed_sources import NotConnected, adapter_load, connection_expire_for
from brokers.market.keys import StreamMode
from brokers.pushes import FeedState, FeedStatusPush, TickPush
from budhitrade.cancel import cancel_kept
from budhitrade.logging import OutageLog

logger = logging.getLogger("budhitrade.market")
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0
LOOP_SECONDS = 0.5  # the longest a runner waits for a tick before it looks at its wants and its health again
BATCH_MAX = 1000
_ENDED, _WAKE = object(), object()


class StreamTrouble(Exception):
    """The upstream stopped serving: it ended, went silent, or its broker failed; the runner reopens it."""


def _reason(error: Exception) -> str:
    """What the sockets are told about a failure: the broker's or the feed's words, never a traceback's."""
    if isinstance(error, BrokerError):
        return str(error.detail)
    if isinstance(error, StreamTrouble):
        return str(error)
    return "the market feed could not reach the stream's data"


@dataclass(eq=False)
class Shard:
    """One upstream MarketStream and the instruments it carries."""

    stream: MarketStream
    keys: set[str] = field(default_factory=set)
    last_fresh: float = field(default_factory=time.monotonic)
    reader: asyncio.Task | None = None


class StreamRunner:
    """Carries one stream's wanted instruments upstream and publishes its ticks and its state."""

    def __init__(self, stream: str, redis) -> None:
        self.stream, self.redis = stream, redis
        self.wanted: Wants = {}
        self.carried: dict[str, StreamMode] = {}
        self.state: FeedState | None = None
        self.backoff = BACKOFF_FIRST
        self.rounds = 0  # passes of the session loop (tests wait on it)
        self.over: list[str] = []  # wanted keys beyond the broker's streaming limits
        self._released: dict[str, float] = {}
        self._exchange_times: dict[str, object] = {}
        self._shards: list[Shard] = []
        self._shard_of: dict[str, Shard] = {}
        self._key_of: dict[tuple[str, str], str] = {}
        self._instruments: dict[str, StreamInstrument] = {}  # as carried (an index unsubscribes as one)
        self._queue: asyncio.Queue = asyncio.Queue(maxsize=10 * BATCH_MAX)
        self._demand = asyncio.Event()
        self._announced: tuple | None = None
        self._trouble = OutageLog(logger, "market_feed_stream_recovering")  # once per outage, not per reopen
        self.label = ""

    @property
    def idle(self) -> bool:
        return not self.wanted and not self.carried

    def want(self, wanted: Wants) -> None:
        """What the web processes want of this stream now (the feed calls it after every demand read)."""
        self.wanted = wanted
        if wanted:
            self._demand.set()
        try:
            self._queue.put_nowait((None, _WAKE))
        except asyncio.QueueFull:  # busy with ticks: it looks at its wants after this batch anyway
            pass

    # --- the runner's life -------------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            while True:
                await self._demand.wait()
                if not self.wanted:
                    self._demand.clear()
                    if self.state is not None:
                        await self._retire()
                    continue
                try:
                    adapter = await adapter_load(self.stream)
                    self.label = adapter.broker.label
                    await self._session(adapter)
                    await self._retire()
                except NotConnected as error:  # looked at again every rescan, until it is connected
                    await self._close_shards()
                    await self.announce(FeedState.DOWN, str(error))
                    await asyncio.sleep(settings.MARKET_FEED_RESCAN_SECONDS)
                except BrokerSessionExpired as error:
                    await self._close_shards()
                    logger.warning("market_feed_session_expired", extra={"stream": self.stream})
                    try:
                        await connection_expire_for(self.stream, error.detail)  # then NotConnected says down
                    except Exception:  # the database is away: try the session again after a pause
                        self._trouble.failed(stream=self.stream, reason="expiring the session failed")
                        await asyncio.sleep(self.backoff)
                        self.backoff = min(self.backoff * 2, BACKOFF_MAX)
                except Exception as error:  # silence, an ended stream, a broker or database failure: reopen
                    await self._close_shards()
                    reason = _reason(error)
                    self._trouble.failed(stream=self.stream, reason=reason)
                    await self.announce(FeedState.RECOVERING, f"Reconnecting: {reason}")
                    await asyncio.sleep(self.backoff)
                    self.backoff = min(self.backoff * 2, BACKOFF_MAX)
        finally:
            await self._close_shards()

    async def _session(self, adapter: BrokerAdapter) -> None:
        """Open, carry and publish until nothing is wanted (returns) or the upstream fails (raises)."""
        started = False
        while True:
            self.rounds += 1
            now = time.monotonic()
            market_open = adapter.market_open(timezone.now())
            await self._apply(adapter, plan(self.wanted, self.carried, self._released, now=now,
                                            grace=settings.MARKET_FEED_GRACE_SECONDS))
            if self.idle:
                return
            if not market_open:
                for shard in self._shards:  # a closed market is quiet by rule: silence is measured from the open
                    shard.last_fresh = now
                await self.announce(FeedState.CLOSED, "The market is closed.")
            elif self.state == FeedState.CLOSED or (not started and self.state != FeedState.RECOVERING):
                await self.announce(FeedState.UP, "")
            elif any(shard.keys and now - shard.last_fresh > settings.MARKET_FEED_STALE_SECONDS
                     for shard in self._shards):
                raise StreamTrouble(f"no tick for {settings.MARKET_FEED_STALE_SECONDS:g} s while the market is open")
            started = True
            await self._pump(market_open)

    async def _retire(self) -> None:
        """Nothing is wanted any more: close the upstream, forget the stream's announced state."""
        await self._close_shards()
        self.state, self._announced, self.backoff = None, None, BACKOFF_FIRST
        self._exchange_times.clear()
        await status_forget(self.redis, self.stream)

    # --- carrying what is wanted ---------------------------------------------------------------------------

    def _instrument(self, key: str) -> StreamInstrument:
        held = self._instruments.get(key)
        if held is not None and key not in self.wanted:
            return held
        segment, token = keys.split_key(key)
        return StreamInstrument(exchange=keys.SEGMENT_EXCHANGES[segment], token=token,
                                is_index=self.wanted.get(key, (None, False))[1])

    async def _apply(self, adapter: BrokerAdapter, changes: Plan) -> None:
        dropped: dict[Shard, list[StreamInstrument]] = {}
        for key in changes.unsubscribe:
            instrument = self._instrument(key)
            shard = self._shard_of.pop(key, None)
            self.carried.pop(key, None)
            self._exchange_times.pop(key, None)
            self._instruments.pop(key, None)
            self._key_of.pop((instrument.exchange, instrument.token), None)
            if shard is not None:
                shard.keys.discard(key)
                dropped.setdefault(shard, []).append(instrument)
        for shard, instruments in dropped.items():
            await shard.stream.unsubscribe(instruments)
        grouped: dict[tuple[Shard, StreamMode], list[str]] = {}
        placed: dict[Shard, int] = {}
        over = []
        for key, mode in changes.subscribe.items():
            shard = self._shard_of.get(key)
            if shard is None:
                shard = await self._place(adapter, placed)
                if shard is None:
                    over.append(key)
                    continue
                placed[shard] = placed.get(shard, 0) + 1
            grouped.setdefault((shard, mode), []).append(key)
        for (shard, mode), added in grouped.items():
            instruments = [self._instrument(key) for key in added]
            await shard.stream.subscribe(instruments, mode)
            for key, instrument in zip(added, instruments):
                self._shard_of[key], self.carried[key], self._instruments[key] = shard, mode, instrument
                self._key_of[(instrument.exchange, instrument.token)] = key
                if key not in shard.keys:
                    shard.keys.add(key)
                    shard.last_fresh = time.monotonic()
        if sorted(over) != self.over:
            self.over = sorted(over)
            await self.announce(self.state or FeedState.UP, "")

    async def _place(self, adapter: BrokerAdapter, placed: dict[Shard, int]) -> Shard | None:
        """A shard with room for one more instrument, opening another where the broker allows; None if full."""
        for shard in self._shards:
            if len(shard.keys) + placed.get(shard, 0) < shard.stream.max_instruments:
                return shard
        if len(self._shards) >= adapter.market_streams_per_key:
            return None
        stream = adapter.market_stream()
        await stream.open()
        shard = Shard(stream=stream)
        shard.reader = asyncio.create_task(self._read(shard))
        self._shards.append(shard)
        return shard

    async def _read(self, shard: Shard) -> None:
        try:
            async for push in shard.stream:
                await self._queue.put((shard, push))
            await self._queue.put((shard, _ENDED))
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the runner decides: it reopens, or marks the session expired
            await self._queue.put((shard, error))

    async def _close_shards(self) -> None:
        shards, self._shards = self._shards, []
        for shard in shards:
            if shard.reader is not None:
                shard.reader.cancel()
            try:
                await shard.stream.close()
            except Exception:
                logger.warning("market_feed_close_failed", extra={"stream": self.stream}, exc_info=True)
        self.carried.clear()
        self._shard_of.clear()
        self._key_of.clear()
        self._instruments.clear()
        while not self._queue.empty():
            self._queue.get_nowait()

    # --- ticks and state -------------------------------------------------------------------------------------

    async def _pump(self, market_open: bool) -> None:
        """Read one batch of what the streams pushed (waiting up to LOOP_SECONDS) and publish it."""
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for loses a cancel that arrives as the get
            # completes (a stream ending as the feed stops), and the runner would then never stop.
            async with asyncio.timeout(LOOP_SECONDS):
                items = [await self._queue.get()]
        except TimeoutError:
            cancel_kept()
            return
        while len(items) < BATCH_MAX and not self._queue.empty():
            items.append(self._queue.get_nowait())
        ticks: dict[str, str] = {}
        fresh = False
        for shard, item in items:
            if shard is None or shard not in self._shards:
                continue  # a wake-up, or news from a stream already closed
            if item is _ENDED:
                raise StreamTrouble("the stream ended")
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, FeedStatusPush):
                if item.state == FeedState.UP:  # connected, or a heartbeat: alive, but only ticks say `up`
                    shard.last_fresh = time.monotonic()
                else:
                    await self.announce(item.state, item.message)
                continue
            if isinstance(item, TickPush):
                fresh |= self._tick(shard, item, ticks)
        if ticks:
            await ticks_publish(self.redis, self.stream, ticks)
        if fresh and market_open and self.state != FeedState.UP:
            self.backoff = BACKOFF_FIRST
            self._trouble.succeeded()
            await self.announce(FeedState.UP, "")

    def _tick(self, shard: Shard, push: TickPush, ticks: dict[str, str]) -> bool:
        """Render the tick into `ticks` (the latest per instrument); whether it is fresh."""
        quote = push.quote
        key = self._key_of.get((quote.instrument.exchange, quote.instrument.token))
        mode = self.carried.get(key) if key else None
        if mode is None:
            return False  # an instrument let go while the tick was on its way
        segment, token = keys.split_key(key)
        ticks[key] = tick_text(quote, segment=segment, mode=mode, token=token)
        at, before = quote.exchange_timestamp, self._exchange_times.get(key)
        self._exchange_times[key] = at if at is not None else before
        if at is None or before is None or at > before:
            shard.last_fresh = time.monotonic()
            return True
        return False

    async def announce(self, state: FeedState, message: str) -> None:
        """Publish the stream's state to its status channel and key, when it (or its message) changed."""
        if self.over:
            shown = ", ".join(self.over[:20]) + (" …" if len(self.over) > 20 else "")
            message = (f"{message} " if message else "") + (
                f"{len(self.over)} instrument{'s' if len(self.over) > 1 else ''} over the broker's streaming limit, "
                f"not streamed: {shown}")
        self.state = state
        if self._announced == (state, message):
            return
        if await status_publish(self.redis, self.stream, feed=self.label, state=state, message=message):
            self._announced = (state, message)
            logger.info("market_feed_state", extra={"stream": self.stream, "state": state.value})
