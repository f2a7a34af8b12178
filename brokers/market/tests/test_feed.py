"""The market feed on real PostgreSQL and Redis: demand from web processes' want hashes, ticks published once,
silence detected and recovered, expired sessions, the lock.

Web processes are played by writing their Redis state exactly as the hub
(brokers/market/hub.py) writes it. The upstream is the real paper market's
stream (spied on, not replaced) or Kite's ticker against a local server;
only the over-the-limit case shrinks a real stream's limit.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
import redis.asyncio as aioredis
import websockets
from channels.db import database_sync_to_async

from brokers.adapters.paper.adapter import PaperAdapter
from brokers.adapters.paper.stream import PaperMarketStream
from brokers.domain import ConnectionStatus
from brokers.market import keys
from brokers.market.demand import demand_read, plan
from brokers.market.feed import Feed
from brokers.market.feed_publish import process_message_read
from brokers.market.keys import PAPER_STREAM, StreamMode
from brokers.models import BrokerConnection
from brokers.paper import market
from brokers.paper.models import PaperInstrument
from brokers.tests.fixtures import PAPER_START_DAY, ist
from budhitrade.embedded_redis import free_port

pytestmark = pytest.mark.django_db(transaction=True)

TCS, RELIANCE, NIFTY = "nse_cm|11536", "nse_cm|2885", "nse_cm|26000"
SOMEONES = "0b0e0a52-6f0c-4a5e-9a51-3c1f4a7d2e11"  # a broker connection's id: one user's own stream
WAIT = 40  # seconds: generous, the machine is shared


async def until(condition, timeout: float = WAIT):
    """Wait for `condition()` (sync or async) to hold; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition did not hold in time")
        await asyncio.sleep(0.05)


class WebProcess:
    """A daphne process's market state in Redis, as the hub writes it."""

    def __init__(self, redis, process_id: str) -> None:
        self.redis, self.process_id = redis, process_id

    async def start(self) -> "WebProcess":
        await self.redis.set(keys.process_key(self.process_id), "1", ex=120)
        await self.redis.sadd(keys.WANT_PROCESSES, self.process_id)
        return self

    async def want(self, key: str, mode: StreamMode, *, is_index: bool = False, stream: str = PAPER_STREAM):
        await self.redis.hset(keys.want_key(self.process_id), keys.want_field(stream, key),
                              keys.want_value(mode, is_index))
        await self.redis.publish(keys.DEMAND_CHANNEL, self.process_id)

    async def drop(self, key: str, *, stream: str = PAPER_STREAM):
        await self.redis.hdel(keys.want_key(self.process_id), keys.want_field(stream, key))
        await self.redis.publish(keys.DEMAND_CHANNEL, self.process_id)

    async def die(self):
        await self.redis.delete(keys.process_key(self.process_id))


@pytest.fixture
async def redis(settings, monkeypatch):
    if not settings.REDIS_URL:
        pytest.fail("The market feed's tests need Redis (REDIS_URL).")
    # Pub/sub channels are server-wide, not per database: a prefix of this test's own keeps another suite's
    # ticks on the same server out of the counts.
    prefix = f"bt:mkt:test-{uuid.uuid4().hex[:8]}:"
    monkeypatch.setattr(keys, "PREFIX", prefix)
    for name, suffix in (("WANT_PROCESSES", "procs"), ("DEMAND_CHANNEL", "demand"), ("FEED_LOCK", "feed-lock")):
        monkeypatch.setattr(keys, name, prefix + suffix)
    client = aioredis.Redis.from_url(settings.REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def quick(settings):
    settings.PAPER_STREAM_INTERVAL_SECONDS = 0.1
    settings.MARKET_FEED_RESCAN_SECONDS = 0.5
    settings.MARKET_FEED_GRACE_SECONDS = 0
    settings.MARKET_FEED_LOCK_SECONDS = 3
    settings.MARKET_FEED_STALE_SECONDS = 60  # the tests that want silence noticed say so


@pytest.fixture
def always_open(settings):
    settings.PAPER_MARKET_HOURS = "always"


@pytest.fixture
def paper_open(always_open, paper_market):
    market.market_advance(to=ist(PAPER_START_DAY, 10, 0))
    return paper_market


@pytest.fixture
def upstream(monkeypatch):
    """Every call the feed makes on the paper market's streams (which still do their work)."""
    calls: list[tuple] = []
    real_open, real_subscribe, real_unsubscribe = (PaperMarketStream.open, PaperMarketStream.subscribe,
                                                   PaperMarketStream.unsubscribe)

    async def open_(self):
        calls.append(("open",))
        await real_open(self)

    async def subscribe(self, instruments, mode):
        calls.append(("subscribe", tuple(sorted(i.token for i in instruments)), mode))
        await real_subscribe(self, instruments, mode)

    async def unsubscribe(self, instruments):
        calls.append(("unsubscribe", tuple(sorted(i.token for i in instruments))))
        await real_unsubscribe(self, instruments)

    monkeypatch.setattr(PaperMarketStream, "open", open_)
    monkeypatch.setattr(PaperMarketStream, "subscribe", subscribe)
    monkeypatch.setattr(PaperMarketStream, "unsubscribe", unsubscribe)
    return calls


@pytest.fixture
async def feed(redis, quick):
    feed = Feed(redis=redis)
    task = asyncio.create_task(feed.run())
    yield feed
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class Listener:
    """A subscriber on some of the feed's status channels and on one web process's channel (the ticks that
    process wants: on keys.tick_channel of each), keeping every message."""

    def __init__(self, redis, *channels: str, process: str = "web-a") -> None:
        self.pubsub = redis.pubsub(ignore_subscribe_messages=True)
        self.process_channel = keys.process_channel(process)
        self.channels = [self.process_channel, *(c for c in channels if c.startswith(keys.status_channel("")))]
        self.messages: list[tuple[str, dict]] = []
        self.task = None

    async def __aenter__(self):
        await self.pubsub.subscribe(*self.channels)
        self.task = asyncio.create_task(self._read())
        return self

    async def _read(self):
        while True:
            message = await self.pubsub.get_message(timeout=1.0)
            if message is None:
                continue
            channel = message["channel"].decode()
            if channel != self.process_channel:
                self.messages.append((channel, json.loads(message["data"])))
                continue
            stream, ticks = process_message_read(message["data"])
            self.messages += [(keys.tick_channel(stream, key), json.loads(text)) for key, text in ticks]

    async def __aexit__(self, *exc):
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.pubsub.aclose()

    def on(self, channel: str) -> list[dict]:
        return [data for name, data in self.messages if name == channel]

    def states(self, stream: str = PAPER_STREAM) -> list[str]:
        return [data["state"] for data in self.on(keys.status_channel(stream))]


def runner(feed: Feed, stream: str = PAPER_STREAM):
    return feed.runners[stream][0] if stream in feed.runners else None


async def advance(to) -> None:
    await database_sync_to_async(market.market_advance)(to=to)


# --- demand ---------------------------------------------------------------------------------------------------

async def test_demand_is_the_union_of_live_processes_with_the_highest_mode_and_a_dead_ones_wants_removed(redis):
    first, second, dead = [await WebProcess(redis, name).start() for name in ("web-a", "web-b", "web-c")]
    await first.want(TCS, StreamMode.LTP)
    await second.want(TCS, StreamMode.DEPTH)
    await second.want(NIFTY, StreamMode.LTP, is_index=True)
    await second.want("nse_fo|43210", StreamMode.QUOTE, stream=SOMEONES)
    await dead.want(RELIANCE, StreamMode.QUOTE)
    await dead.die()

    demand = await demand_read(redis)

    assert demand == {PAPER_STREAM: {TCS: (StreamMode.DEPTH, False), NIFTY: (StreamMode.LTP, True)},
                      SOMEONES: {"nse_fo|43210": (StreamMode.QUOTE, False)}}
    assert await redis.smembers(keys.WANT_PROCESSES) == {b"web-a", b"web-b"}
    assert not await redis.exists(keys.want_key("web-c"))


def test_new_instruments_and_higher_modes_go_up_at_once_and_the_rest_only_after_the_grace():
    carried = {TCS: StreamMode.DEPTH, RELIANCE: StreamMode.LTP}
    released: dict[str, float] = {}
    wanted = {TCS: (StreamMode.LTP, False), NIFTY: (StreamMode.QUOTE, True)}

    early = plan(wanted, carried, released, now=100.0, grace=5)
    late = plan(wanted, carried, released, now=105.0, grace=5)

    assert (early.subscribe, early.unsubscribe) == ({NIFTY: StreamMode.QUOTE}, [])
    assert (late.subscribe, late.unsubscribe) == ({NIFTY: StreamMode.QUOTE, TCS: StreamMode.LTP}, [RELIANCE])
    assert released == {}


def test_an_instrument_wanted_again_within_the_grace_is_kept():
    carried = {TCS: StreamMode.QUOTE}
    released: dict[str, float] = {}

    plan({}, carried, released, now=100.0, grace=5)
    again = plan({TCS: (StreamMode.QUOTE, False)}, carried, released, now=101.0, grace=5)
    later = plan({}, carried, released, now=104.0, grace=5)

    assert (again.subscribe, again.unsubscribe, later.unsubscribe) == ({}, [], [])


# --- carrying and publishing --------------------------------------------------------------------------------

async def test_two_processes_wanting_one_instrument_make_one_upstream_subscription_until_both_let_go(
        paper_open, redis, feed, upstream):
    first, second = [await WebProcess(redis, name).start() for name in ("web-a", "web-b")]
    await first.want(TCS, StreamMode.QUOTE)
    await second.want(TCS, StreamMode.QUOTE)
    await until(lambda: runner(feed) and TCS in runner(feed).carried)

    await first.drop(TCS)
    reads = feed.rounds
    await until(lambda: feed.rounds > reads + 1)  # the feed has read the demand since
    rounds = runner(feed).rounds
    await until(lambda: runner(feed).rounds > rounds + 3)  # with no grace at all, it would be gone by now
    still_carried = TCS in runner(feed).carried
    await second.drop(TCS)
    await until(lambda: not runner(feed) or not runner(feed).carried)

    assert upstream[:2] == [("open",), ("subscribe", ("11536",), StreamMode.QUOTE)]
    assert still_carried
    assert upstream[2:] == [("unsubscribe", ("11536",))]  # one subscription, one unsubscription, no reopen
    await until(lambda: PAPER_STREAM not in feed.runners)  # and the idle stream is closed and forgotten


async def test_a_higher_mode_resubscribes_at_it_and_its_ticks_carry_depth(paper_open, redis, feed, upstream):
    first, second = [await WebProcess(redis, name).start() for name in ("web-a", "web-b")]
    async with Listener(redis, keys.tick_channel(PAPER_STREAM, TCS)) as ticks:
        await first.want(TCS, StreamMode.LTP)
        await until(lambda: ticks.on(keys.tick_channel(PAPER_STREAM, TCS)))
        await second.want(TCS, StreamMode.DEPTH)
        await until(lambda: len(ticks.on(keys.tick_channel(PAPER_STREAM, TCS))) >= 2)

    lean, deep = ticks.on(keys.tick_channel(PAPER_STREAM, TCS))[:2]
    assert [call for call in upstream if call[0] == "subscribe"] == [
        ("subscribe", ("11536",), StreamMode.LTP), ("subscribe", ("11536",), StreamMode.DEPTH)]
    assert set(lean) == {"instrument_token", "exchange_segment", "ltp", "timestamp"}
    assert len(deep["depth"]["buy"]) == 5 and deep["volume"] > 0


async def test_each_tick_is_published_once_to_each_process_that_wants_it_and_kept_as_the_last_value(
        paper_open, redis, feed):
    processes = [await WebProcess(redis, name).start() for name in ("web-a", "web-b")]
    channels = {key: keys.tick_channel(PAPER_STREAM, key) for key in (TCS, RELIANCE)}
    async with Listener(redis, *channels.values()) as ticks:
        for process in processes:  # two processes, each wanting both: each gets every tick once
            await process.want(TCS, StreamMode.QUOTE)
            await process.want(RELIANCE, StreamMode.QUOTE)
        await until(lambda: all(ticks.on(channel) for channel in channels.values()))
        await advance(ist(PAPER_START_DAY, 10, 1))
        await until(lambda: all(len(ticks.on(channel)) >= 2 for channel in channels.values()))
        rounds = runner(feed).rounds
        await until(lambda: runner(feed).rounds > rounds + 5)  # polls of a market standing still publish nothing

    tcs = await database_sync_to_async(PaperInstrument.objects.get)(token=11536)
    for key, channel in channels.items():
        opening, moved = ticks.on(channel)
        assert (opening["timestamp"], moved["timestamp"]) == ("2026-11-16T04:30:00Z", "2026-11-16T04:31:00Z")
        assert json.loads(await redis.hget(keys.last_key(PAPER_STREAM), key)) == moved
    assert Decimal(str(ticks.on(channels[TCS])[1]["ltp"])) == tcs.last_price  # render.py's number for a price
    assert ticks.on(channels[TCS])[1]["exchange_segment"] == "nse_cm"
    assert ticks.on(channels[TCS])[1]["instrument_token"] == "11536"


async def test_instruments_are_sharded_over_the_streams_a_key_allows_and_the_rest_named_in_a_status(
        paper_open, redis, feed, upstream, monkeypatch):
    # The paper market's stream made as small as Kite's are large: one instrument a stream, two streams a key.
    monkeypatch.setattr(PaperMarketStream, "max_instruments", 1)
    monkeypatch.setattr(PaperAdapter, "market_streams_per_key", 2)
    process = await WebProcess(redis, "web-a").start()
    async with Listener(redis, keys.status_channel(PAPER_STREAM), *(keys.tick_channel(PAPER_STREAM, key)
                                                                   for key in (TCS, RELIANCE))) as heard:
        for key in (TCS, RELIANCE):
            await process.want(key, StreamMode.LTP)
        await until(lambda: runner(feed) and len(runner(feed).carried) == 2)
        await process.want(NIFTY, StreamMode.LTP, is_index=True)
        await until(lambda: any("over the broker's streaming limit" in data["message"]
                                for data in heard.on(keys.status_channel(PAPER_STREAM))))
        await until(lambda: all(heard.on(keys.tick_channel(PAPER_STREAM, key)) for key in (TCS, RELIANCE)))

    over = [data for data in heard.on(keys.status_channel(PAPER_STREAM)) if "limit" in data["message"]][-1]
    assert over["message"].startswith("1 instrument over") and "nse_cm|26000" in over["message"]
    assert set(runner(feed).carried) == {TCS, RELIANCE}
    assert upstream.count(("open",)) == 2  # one stream each, both streaming
    assert ("subscribe", ("26000",), StreamMode.LTP) not in upstream


# --- never stale in silence ---------------------------------------------------------------------------------

async def test_a_silent_market_in_its_hours_says_recovering_resubscribes_and_says_up_when_it_moves_again(
        paper_open, redis, feed, upstream, settings):
    settings.MARKET_FEED_STALE_SECONDS = 1
    process = await WebProcess(redis, "web-a").start()
    async with Listener(redis, keys.status_channel(PAPER_STREAM)) as status:
        await process.want(TCS, StreamMode.QUOTE)
        await until(lambda: "recovering" in status.states())
        await until(lambda: upstream.count(("open",)) >= 2)
        reopened = upstream.count(("open",))
        rounds = runner(feed).rounds
        await until(lambda: runner(feed).rounds > rounds + 3)  # the reopened stream's first reads are done
        before_it_moved = status.states()
        await advance(ist(PAPER_START_DAY, 10, 2))
        await until(lambda: status.states()[-1:] == ["up"] and len(status.states()) > 2)

    assert before_it_moved == ["up", "recovering"]  # the resubscribed stream's repeated values are not news
    assert upstream.count(("subscribe", ("11536",), StreamMode.QUOTE)) >= reopened >= 2  # resubscribed each time
    recovering = status.on(keys.status_channel(PAPER_STREAM))[1]
    assert recovering["stream"] == "paper" and recovering["feed"] == "Paper"
    assert "no tick" in recovering["message"]
    assert json.loads(await redis.get(keys.status_key(PAPER_STREAM)))["state"] == "up"


async def test_a_database_outage_says_recovering_and_the_stream_carries_on_by_itself_when_it_is_back(
        paper_open, redis, feed, settings, monkeypatch):
    from django.db import OperationalError

    from brokers.adapters.paper import stream as paper_stream

    settings.MARKET_FEED_STALE_SECONDS = 1
    real_rows, outage = paper_stream._rows, {"on": False}

    def rows(tokens):
        if outage["on"]:
            raise OperationalError("server closed the connection unexpectedly")
        return real_rows(tokens)

    monkeypatch.setattr(paper_stream, "_rows", rows)
    process = await WebProcess(redis, "web-a").start()
    async with Listener(redis, keys.status_channel(PAPER_STREAM)) as status:
        await process.want(TCS, StreamMode.QUOTE)
        await until(lambda: status.states() == ["up"])
        outage["on"] = True
        await until(lambda: "recovering" in status.states())
        outage["on"] = False
        await advance(ist(PAPER_START_DAY, 10, 5))
        await until(lambda: status.states()[-1:] == ["up"] and len(status.states()) > 2)

    assert status.states() == ["up", "recovering", "up"]
    assert "server closed" not in json.dumps(status.messages)  # what sockets hear is ours, not the driver's


async def test_the_feed_waits_out_an_unreachable_redis_without_running_streams_or_failing():
    feed = Feed(redis=aioredis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1))

    for _ in range(3):
        await feed.step()

    assert not feed.active and feed.runners == {}
    await feed.stop()
    await feed.redis.aclose()


async def test_outside_market_hours_the_stream_says_closed_and_is_not_called_stale(
        paper_market, redis, feed, settings, monkeypatch):
    settings.MARKET_FEED_STALE_SECONDS = 0.5
    settings.PAPER_MARKET_HOURS = "nse"
    saturday = ist(PAPER_START_DAY + timedelta(days=5), 11, 0)
    monkeypatch.setattr("django.utils.timezone.now", lambda: saturday)  # the wall clock the feed asks
    process = await WebProcess(redis, "web-a").start()
    async with Listener(redis, keys.status_channel(PAPER_STREAM)) as status:
        await process.want(TCS, StreamMode.LTP)
        await until(lambda: status.states())
        rounds = runner(feed).rounds
        await until(lambda: runner(feed).rounds > rounds + 5)

    assert status.states() == ["closed"]
    assert json.loads(await redis.get(keys.status_key(PAPER_STREAM)))["message"] == "The market is closed."


async def test_an_expired_kite_session_marks_the_connection_expired_and_the_stream_down(
        redis, feed, user, settings):
    port = free_port()
    settings.KITE_TICKER_URL = f"ws://127.0.0.1:{port}"

    def refuse(connection, request):  # Kite's answer to yesterday's access token
        return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")

    connection = await database_sync_to_async(BrokerConnection.objects.create)(
        user=user, broker="zerodha", account_id="ZX1234", status=ConnectionStatus.CONNECTED,
        credentials={"api_key": "kitekey123", "api_secret": "kitesecret456"},
        session={"access_token": "yesterdaysToken"})
    stream = str(connection.pk)
    process = await WebProcess(redis, "web-a").start()
    async with websockets.serve(lambda socket: socket.wait_closed(), "127.0.0.1", port, process_request=refuse):
        async with Listener(redis, keys.status_channel(stream)) as status:
            await process.want("nse_cm|408065", StreamMode.QUOTE, stream=stream)
            await until(lambda: "down" in status.states(stream))

    await database_sync_to_async(connection.refresh_from_db)()
    assert connection.status == ConnectionStatus.EXPIRED and connection.session == {}
    down = status.on(keys.status_channel(stream))[-1]
    assert down["feed"] == "Zerodha" and down["message"] == connection.last_error != ""
    assert "yesterdaysToken" not in json.dumps(status.messages)


async def test_a_second_feed_stands_by_until_the_first_lets_go(paper_open, redis, quick):
    process = await WebProcess(redis, "web-a").start()
    await process.want(TCS, StreamMode.LTP)
    first, second = Feed(redis=redis), Feed(redis=redis)

    await first.step()
    await second.step()
    standby = (first.active, second.active, list(second.runners))
    await first.stop()
    await second.step()

    assert standby == (True, False, [])
    assert second.active and PAPER_STREAM in second.runners
    assert await redis.get(keys.FEED_LOCK) == second.lock.token.encode()
    await second.stop()
    assert await redis.get(keys.FEED_LOCK) is None
