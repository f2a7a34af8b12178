"""The market-feed process: one active feed holds every upstream market stream and publishes each tick once.

Web processes say what their sockets want (brokers/market/hub.py writes it
to Redis); the feed reads the union of those wants (brokers/market/demand.py)
when one of them announces a change on keys.DEMAND_CHANNEL, and at least
every MARKET_FEED_RESCAN_SECONDS besides, and hands each stream's share to
that stream's runner (brokers/market/feed_runner.py): "paper" for the paper
market every user shares, a broker connection's id for one user's own
session. A runner opens the broker's stream while something is wanted and
closes it when nothing has been for MARKET_FEED_GRACE_SECONDS.

Only the feed holding keys.FEED_LOCK runs streams (two would hold two
upstream sessions and publish every tick twice); any others stand by and
take over once it is gone for MARKET_FEED_LOCK_SECONDS. Redis or PostgreSQL
going away is logged once and waited out; nothing here exits because of it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
import uuid

from django.conf import settings

from brokers.market import keys
from brokers.market.demand import FeedLock, Wants, demand_read
from brokers.market.feed_runner import StreamRunner
from brokers.market.registry import async_client
from brokers.pushes import FeedState
from budhitrade.cancel import cancel_kept
from budhitrade.logging import OutageLog

logger = logging.getLogger("budhitrade.market")
_redis_outage = OutageLog(logger, "market_feed_redis_failed")
RETRY_SECONDS = 1
COALESCE_SECONDS = 0.05


class Feed:
    """One market-feed process: the lock, the demand it reads, a runner per stream with demand."""

    def __init__(self, *, redis=None) -> None:
        self.redis = redis or async_client()
        self.lock = FeedLock(self.redis, uuid.uuid4().hex)
        self.active = False  # holding the lock, running streams
        self.runners: dict[str, tuple[StreamRunner, asyncio.Task]] = {}
        self._held_at = 0.0
        self.rounds = 0  # demand reads handed out (tests wait on it)
        self._demand_changed = asyncio.Event()
        self._listener: asyncio.Task | None = None

    async def run(self) -> None:
        """Round after round until cancelled: hold the lock (or stand by), read the demand, hand it out."""
        try:
            while True:
                await self.step()
                try:  # asyncio.timeout, not wait_for, which on Python 3.11 can lose the cancel that stops the feed
                    async with asyncio.timeout(self._round_seconds()):
                        await self._demand_changed.wait()
                    await asyncio.sleep(COALESCE_SECONDS)  # a burst of subscribes is one read, not one each
                except TimeoutError:
                    cancel_kept()
                self._demand_changed.clear()
        finally:
            await self.stop()

    def _round_seconds(self) -> float:
        return min(settings.MARKET_FEED_RESCAN_SECONDS, settings.MARKET_FEED_LOCK_SECONDS / 3)

    async def step(self) -> None:
        """One round: keep or take the lock; while it is ours, give every stream's runner its wants."""
        if not await self._hold():
            if self.active:
                logger.warning("market_feed_lock_lost")
                await self._stop_runners(announce=False)
                self.active = False
            return
        if not self.active:
            logger.info("market_feed_lock_acquired")
            self.active = True
            self._listener = asyncio.create_task(self._listen())
        try:
            demand = await demand_read(self.redis)
            _redis_outage.succeeded()
        except Exception:  # Redis is away: the runners carry on with what they have
            _redis_outage.failed()
            return
        self._hand_out(demand)
        self.rounds += 1

    async def _hold(self) -> bool:
        try:
            held = await self.lock.hold(settings.MARKET_FEED_LOCK_SECONDS)
        except Exception:  # unknown while Redis is away: ours until shortly before it would have expired
            _redis_outage.failed()
            return self.active and time.monotonic() - self._held_at < 0.8 * settings.MARKET_FEED_LOCK_SECONDS
        if held:
            self._held_at = time.monotonic()
        return held

    def _hand_out(self, demand: dict[str, Wants]) -> None:
        for stream, wants in demand.items():
            if stream not in self.runners:
                runner = StreamRunner(stream, self.redis)
                self.runners[stream] = (runner, asyncio.create_task(runner.run(), name=f"market-stream-{stream}"))
            self.runners[stream][0].want(wants)
        for stream, (runner, task) in list(self.runners.items()):
            if stream in demand:
                continue
            runner.want({})
            if (runner.idle and runner.state is None) or task.done():  # retired: its upstream is closed
                task.cancel()
                del self.runners[stream]

    async def _listen(self) -> None:
        """Wake the round loop at once when a web process announces new wants."""
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(keys.DEMAND_CHANNEL)
                self._demand_changed.set()  # what changed while nobody listened
                while True:
                    if await pubsub.get_message(timeout=1.0) is not None:
                        self._demand_changed.set()
            except asyncio.CancelledError:
                raise
            except Exception:
                _redis_outage.failed()
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:
                    pass

    async def _stop_runners(self, *, announce: bool) -> None:
        runners, self.runners = self.runners, {}
        for runner, task in runners.values():
            task.cancel()
        for runner, task in runners.values():
            try:
                await task
            except BaseException:  # cancelled (or failed): its streams are closed in its finally
                pass
            if announce and runner.state is not None:
                await runner.announce(FeedState.DOWN, "The market feed stopped.")
        if self._listener is not None:
            self._listener.cancel()
            self._listener = None

    async def stop(self) -> None:
        """Close every upstream stream, tell their sockets, and let the lock go to a standby feed."""
        was_active = self.active
        self.active = False
        await self._stop_runners(announce=was_active)
        if was_active:
            try:
                await self.lock.release()
            except Exception:  # it expires by itself
                _redis_outage.failed()


async def feed_main() -> None:
    """The market_feed command's process: run a Feed until SIGTERM or SIGINT."""
    feed = Feed()
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    try:
        await feed.run()
    except asyncio.CancelledError:
        logger.info("market_feed_stopped")
    finally:
        await feed.redis.aclose()
