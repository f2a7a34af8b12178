"""The market socket in-process: every action and error, the hub's fan-out from Redis, the want hash, isolation.

Ticks are published into Redis as the market-feed process publishes them
(feed_publish.ticks_publish: to each web process that wants them, on its
process channel), in the shape it renders (render.market_data over a Quote),
so the socket is tested from Redis to the client and no further.
"""

import asyncio
import json
import uuid
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest
import redis
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

from brokers.domain import DepthLevel, OrderRequest, Quote, QuoteInstrument
from brokers.market import consumers, keys, registry, snapshot
from brokers.market.feed_publish import ticks_publish
from brokers.market.hub import Hub, hub
from brokers.market.keys import StreamMode
from brokers.market.registry import async_client
from brokers.market.render import market_data
from brokers.market.tests.listings import kite_connection, paper_connection, paper_listing  # noqa: F401
from brokers.paper.models import PaperInstrument
from budhitrade.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

TCS, RELIANCE, INFY = "nse_cm|11536", "nse_cm|2885", "nse_cm|1594"
SEED_LINE = ('{"action":"subscribe","instrument_tokens":[{"instrument_token":"11536","exchange_segment":"nse_cm"},'
             '{"instrument_token":"2885","exchange_segment":"nse_cm"}],"isIndex":false,"isDepth":false}')
T0 = datetime(2026, 11, 16, 5, 30, tzinfo=dt_timezone.utc)  # 11:00 IST on the paper market's first day
WAIT = 15.0  # generous: the machine is shared


# --- helpers shared by the market tests ------------------------------------------------------------------------

KEY_NAMES = ("WANT_PROCESSES", "DEMAND_CHANNEL", "FEED_LOCK", "ALL_CLIENTS")


def market_prefix_set(prefix: str) -> None:
    """Name every market key and channel under `prefix`. Redis pub/sub ignores the database number, so on a Redis
    shared with other suites (or a running market_feed) their ticks and feed states would reach these sockets."""
    default = keys.PREFIX
    keys.PREFIX = prefix
    for name in KEY_NAMES:
        setattr(keys, name, prefix + getattr(keys, name).removeprefix(default))


@pytest.fixture(autouse=True)
def market_redis(settings):
    """This test's own market names in Redis (nothing of an earlier test or another suite: socket records,
    wants, heartbeats, last values, ticks); the paper market streams at any hour."""
    settings.PAPER_MARKET_HOURS = "always"
    saved = {name: getattr(keys, name) for name in ("PREFIX", *KEY_NAMES)}
    market_prefix_set(f"{saved['PREFIX']}test-{uuid.uuid4().hex[:8]}:")
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    found = list(client.scan_iter(match=keys.PREFIX + "*", count=1000))
    if found:
        client.delete(*found)
    client.close()
    for name, value in saved.items():
        setattr(keys, name, value)


def subscribe_message(*tokens, segment="nse_cm", action="subscribe", **flags) -> str:
    return json.dumps({"action": action, **flags,
                       "instrument_tokens": [{"instrument_token": t, "exchange_segment": segment} for t in tokens]})


def tick(key: str, ltp: str, at: datetime = T0, *, depth: bool = True) -> str:
    """What the feed publishes for one instrument: market_data at the stream's mode, five levels each side."""
    segment, token = keys.split_key(key)
    price = Decimal(ltp)
    step = Decimal("0.05")
    quote = Quote(instrument=QuoteInstrument(exchange=keys.SEGMENT_EXCHANGES[segment], token=token),
                  received_at=at, exchange_timestamp=at, last_price=price, open=price, high=price, low=price,
                  close=price, volume=1000, bids=tuple(DepthLevel(price - step * (i + 1), 10 * (i + 1), i + 1)
                                                       for i in range(5)),
                  asks=tuple(DepthLevel(price + step * (i + 1), 10 * (i + 1), i + 1) for i in range(5)))
    return json.dumps(market_data(quote, segment=segment, mode=StreamMode.DEPTH if depth else StreamMode.QUOTE))


def ltp(message) -> Decimal:
    """A market_data message's last price, whether rendered as a JSON number or a decimal string."""
    return Decimal(str(message["data"]["ltp"]))


async def open_market(user, client_id="tab-1", query="", *, token=None):
    token = token if token is not None else f"?token={AccessToken.for_user(user)}"
    socket = WebsocketCommunicator(application, f"/ws/market/{client_id}{token}{query}")
    connected, code = await socket.connect(timeout=WAIT)
    if connected:  # a refusal is an accept, then a close with its code (so a browser sees the code too)
        socket.first = await socket.receive_output(timeout=WAIT)
        if socket.first["type"] == "websocket.close":
            await socket.disconnect()  # as a client would: the consumer then ends, leaving nothing to cancel
            return socket, False, socket.first["code"]
    return socket, connected, code


async def connected_market(user, client_id="tab-1", query=""):
    """An open socket whose `connection` message has been read (returned with it)."""
    socket, connected, code = await open_market(user, client_id, query)
    assert connected, code
    hello = json.loads(socket.first["text"])
    assert hello["type"] == "connection"
    return socket, hello


async def receive_until(socket, wanted, *, timeout=WAIT, where=lambda message: True):
    """Messages until one of type `wanted` that matches `where` (returned with those before it)."""
    seen = []
    while True:
        message = json.loads(await socket.receive_from(timeout=timeout))
        seen.append(message)
        if message.get("type") == wanted and where(message):
            return message, seen


async def subscribed(socket, text=SEED_LINE, count=None):
    """Send a subscribe and read through its `status` and every instrument's first value."""
    await socket.send_to(text_data=text)
    status, _ = await receive_until(socket, "status", where=lambda m: m.get("event") == "subscribed")
    first = {}
    while len(first) < len(status["instrument_tokens"]):
        message, _ = await receive_until(socket, "market_data")
        first[keys.instrument_key(message["data"]["exchange_segment"], message["data"]["instrument_token"])] = message
    return status, first


async def listeners(r, channel) -> int:
    """How many processes a tick channel's ticks go to (the live want hashes naming it, which the feed routes by),
    or how many Redis connections listen on a status channel."""
    tick_prefix = keys.tick_channel("", "")[:-1]
    if not channel.startswith(tick_prefix):
        (_, listening), = await r.pubsub_numsub(channel)
        return listening
    stream, _, key = channel[len(tick_prefix):].partition(":")
    count = 0
    for process in await r.smembers(keys.WANT_PROCESSES):
        process = process.decode()
        if await r.hexists(keys.want_key(process), keys.want_field(stream, key)) and \
                await r.exists(keys.process_key(process)):
            count += 1
    return count


async def wait_listening(r, channel, processes=1):
    """Until `processes` processes get `channel` (a subscribe is in flight until Redis has it)."""
    for _ in range(int(WAIT / 0.02)):
        listening = await listeners(r, channel)
        if listening >= processes:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"no one listens on {channel}")


async def wait_not_listening(r, channel):
    """Until no process gets `channel` (an unsubscribe is in flight until Redis has it)."""
    for _ in range(int(WAIT / 0.02)):
        listening = await listeners(r, channel)
        if not listening:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"still listened on: {channel}")


async def publish(r, key, text, stream=keys.PAPER_STREAM):
    await wait_listening(r, keys.tick_channel(stream, key))
    assert await ticks_publish(r, stream, {key: text}) >= 1


async def record_of(client_id, user_id=None):
    """The socket's live record as the management endpoints find it (None: not connected)."""
    return await database_sync_to_async(registry.client_find)(client_id, user_id=user_id)


@pytest.fixture
async def feed():
    """The test's side of Redis: publishes where the feed would."""
    r = async_client()
    yield r
    await r.aclose()


# --- connecting ------------------------------------------------------------------------------------------------

async def test_connection_message_names_the_client_and_the_paper_stream(user, paper_listing):
    socket, hello = await connected_market(user)

    assert hello == {"type": "connection", "message": "Connected successfully", "client_id": "tab-1",
                     "broker": "paper", "account_id": "", "stream": "paper"}
    await socket.disconnect()


@pytest.mark.parametrize("token", ["", "?token=not-a-jwt"])
async def test_without_a_valid_token_the_socket_closes_4401(token):
    _, connected, code = await open_market(None, token=token)
    assert (connected, code) == (False, 4401)


@pytest.mark.parametrize("client_id", ["tab$1", "t" * 65, "tab%201"])
async def test_a_bad_client_id_closes_4400(user, client_id):
    _, connected, code = await open_market(user, client_id)
    assert (connected, code) == (False, 4400)


async def test_an_account_that_is_not_the_users_closes_4403(user):
    _, connected, code = await open_market(user, query="&account_id=PA404")
    assert (connected, code) == (False, 4403)


async def test_a_client_id_held_by_another_users_live_socket_is_refused_4409(user, other_user, paper_listing):
    mine, _ = await connected_market(user, "shared-id")
    held = await record_of("shared-id")

    _, connected, code = await open_market(other_user, "shared-id")

    assert (connected, code) == (False, 4409)
    assert await record_of("shared-id") == held  # the holder's record is untouched
    status, _ = await subscribed(mine)  # and so is its socket
    assert status["count"] == 2
    await mine.disconnect()


async def test_the_same_user_reconnecting_with_the_same_client_id_takes_it_over(user, paper_listing):
    old, _ = await connected_market(user, "tab-7")
    await subscribed(old)
    old_channel = (await record_of("tab-7"))["channel"]

    new, _ = await connected_market(user, "tab-7")

    goodbye, _ = await receive_until(old, "status")
    assert goodbye["event"] == "disconnected" and "same client id" in goodbye["message"]
    assert await old.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": consumers.CLOSE_REPLACED}
    await old.disconnect()  # the old socket's release must not drop the new socket's record
    record = await record_of("tab-7", user_id=user.pk)
    assert record is not None and record["channel"] != old_channel
    status, _ = await subscribed(new)
    assert status["count"] == 2
    await new.disconnect()


# --- subscribing -----------------------------------------------------------------------------------------------

async def test_seed_002s_wscat_line_answers_subscribed_and_each_instruments_first_value(user, paper_listing, feed):
    socket, _ = await connected_market(user)

    status, first = await subscribed(socket)

    assert status == {"type": "status", "event": "subscribed", "count": 2, "market": "open",
                      "instrument_tokens": [{"instrument_token": "11536", "exchange_segment": "nse_cm"},
                                            {"instrument_token": "2885", "exchange_segment": "nse_cm"}],
                      "message": "Subscribed to 2 instruments."}
    prices = await database_sync_to_async(lambda: {
        f"nse_cm|{i.token}": i.last_price for i in PaperInstrument.objects.filter(token__in=[11536, 2885])})()
    assert set(first) == {TCS, RELIANCE}
    for key, message in first.items():
        assert ltp(message) == prices[key] and message["data"]["timestamp"]
        assert "open" in message["data"] and "depth" not in message["data"]  # quote mode: no depth asked

    await publish(feed, TCS, tick(TCS, "3111.10"))
    update, _ = await receive_until(socket, "market_data")
    assert ltp(update) == Decimal("3111.10") and update["data"]["instrument_token"] == "11536"
    await socket.disconnect()


async def test_depth_reaches_only_the_sockets_that_asked_for_it(user, paper_listing, feed):
    deep, _ = await connected_market(user, "deep")
    lean, _ = await connected_market(user, "lean")

    _, deep_first = await subscribed(deep, subscribe_message("11536", isDepth=True))
    _, lean_first = await subscribed(lean, subscribe_message("11536", isDepth=False))

    depth = deep_first[TCS]["data"]["depth"]
    assert len(depth["buy"]) == len(depth["sell"]) == 5
    assert all(level["price"] and level["quantity"] for level in depth["buy"] + depth["sell"])
    assert "depth" not in lean_first[TCS]["data"]

    await publish(feed, TCS, tick(TCS, "3120.00"))
    deep_tick, _ = await receive_until(deep, "market_data")
    lean_tick, _ = await receive_until(lean, "market_data")
    assert [len(deep_tick["data"]["depth"][side]) for side in ("buy", "sell")] == [5, 5]
    best_bid = deep_tick["data"]["depth"]["buy"][0]
    assert (Decimal(str(best_bid["price"])), best_bid["quantity"], best_bid["orders"]) == (Decimal("3119.95"), 10, 1)
    assert "depth" not in lean_tick["data"]
    assert {k: v for k, v in deep_tick["data"].items() if k != "depth"} == lean_tick["data"]
    await deep.disconnect()
    await lean.disconnect()


@pytest.mark.parametrize("token", ["26000", "Nifty 50"])
async def test_nifty_50_subscribes_as_an_index_by_its_token_or_kotaks_name(user, paper_listing, token, market_redis):
    socket, _ = await connected_market(user)

    status, first = await subscribed(socket, subscribe_message(token, isIndex=True))

    assert status["instrument_tokens"] == [{"instrument_token": "26000", "exchange_segment": "nse_cm"}]
    nifty = await database_sync_to_async(lambda: PaperInstrument.objects.get(token=26000))()
    assert nifty.instrument_type == "INDEX"
    assert ltp(first["nse_cm|26000"]) == nifty.last_price
    wants = market_redis.hgetall(keys.want_key(hub.process_id))
    assert wants == {b"paper#nse_cm|26000": keys.want_value(StreamMode.QUOTE, True).encode()}
    await socket.disconnect()


async def test_the_feeds_state_reaches_a_socket_that_came_later_and_each_change_after(user, paper_listing, feed):
    from brokers.market.feed_publish import status_publish
    from brokers.pushes import FeedState

    assert await status_publish(feed, keys.PAPER_STREAM, feed="Paper", state=FeedState.RECOVERING,
                                message="Reconnecting to the paper market.")
    socket, _ = await connected_market(user)

    await socket.send_to(text_data=SEED_LINE)

    state, _ = await receive_until(socket, "status", where=lambda m: "state" in m)
    assert (state["state"], state["message"]) == ("recovering", "Reconnecting to the paper market.")
    await wait_listening(feed, keys.status_channel(keys.PAPER_STREAM))
    assert await status_publish(feed, keys.PAPER_STREAM, feed="Paper", state=FeedState.UP, message="Streaming.")
    state, _ = await receive_until(socket, "status", where=lambda m: "state" in m)
    assert state["state"] == "up"
    await socket.disconnect()


async def test_unsubscribe_stops_that_instrument_and_no_other(user, paper_listing, feed):
    socket, _ = await connected_market(user)
    await subscribed(socket)

    await socket.send_to(text_data=subscribe_message("11536", action="unsubscribe"))

    status, _ = await receive_until(socket, "status")
    assert (status["event"], status["count"]) == ("unsubscribed", 1)
    await wait_not_listening(feed, keys.tick_channel(keys.PAPER_STREAM, TCS))
    assert await ticks_publish(feed, keys.PAPER_STREAM, {TCS: tick(TCS, "3200.00")}) == 0
    await publish(feed, RELIANCE, tick(RELIANCE, "1510.00"))
    update, seen = await receive_until(socket, "market_data")
    assert update["data"]["instrument_token"] == "2885" and len(seen) == 1
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_unsubscribe_all_stops_every_instrument(user, paper_listing, feed, market_redis):
    socket, _ = await connected_market(user)
    await subscribed(socket)

    await socket.send_to(text_data=json.dumps({"action": "unsubscribe_all"}))

    status, _ = await receive_until(socket, "status")
    assert (status["event"], status["count"]) == ("unsubscribed", 0)
    for key in (TCS, RELIANCE):
        await wait_not_listening(feed, keys.tick_channel(keys.PAPER_STREAM, key))
        assert await ticks_publish(feed, keys.PAPER_STREAM, {key: tick(key, "1.00")}) == 0
    assert await socket.receive_nothing(timeout=0.5)
    assert market_redis.hgetall(keys.want_key(hub.process_id)) == {}
    assert market_redis.hgetall(keys.client_subscriptions_key("tab-1")) == {}
    await socket.disconnect()


async def test_close_closes_the_socket_with_1000(user, paper_listing):
    socket, _ = await connected_market(user)
    await subscribed(socket)

    await socket.send_to(text_data=json.dumps({"action": "close"}))

    assert await socket.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 1000}
    await socket.disconnect()
    assert await record_of("tab-1") is None


async def test_outside_market_hours_each_instrument_gets_its_last_value_once_and_a_closed_status(
        user, paper_listing, settings, monkeypatch):
    settings.PAPER_MARKET_HOURS = "nse"
    sunday = datetime(2026, 11, 22, 6, 0, tzinfo=dt_timezone.utc)
    monkeypatch.setattr(snapshot, "timezone", SimpleNamespace(now=lambda: sunday))
    socket, _ = await connected_market(user)

    status, first = await subscribed(socket)

    assert status["market"] == "closed" and "market is closed" in status["message"]
    assert set(first) == {TCS, RELIANCE}
    assert await socket.receive_nothing(timeout=0.5)
    await socket.disconnect()


async def test_subscribe_orderfeed_brings_the_users_order_updates_and_never_another_users(
        user, other_user, paper_listing, client_for):
    from brokers.models import BrokerConnection
    from orders import services

    def paper_account(owner):
        answer = client_for(owner).post("/broker/connect/initiate", {"broker": "paper"}, format="json")
        assert answer.status_code in (200, 201), answer.content
        return BrokerConnection.objects.get(account_id=answer.json()["account_id"])

    mine_connection = await database_sync_to_async(paper_account)(user)
    await database_sync_to_async(paper_account)(other_user)
    mine, _ = await connected_market(user, "mine")
    theirs, _ = await connected_market(other_user, "theirs")
    for socket in (mine, theirs):
        await socket.send_to(text_data=json.dumps({"action": "subscribe_orderfeed"}))
        status, _ = await receive_until(socket, "status")
        assert status["event"] == "orderfeed_subscribed"

    def place():
        price = PaperInstrument.objects.get(tradingsymbol="ITC").last_price
        return services.order_place(connection=mine_connection, request=OrderRequest(
            tradingsymbol="ITC", exchange="NSE", transaction_type="BUY", order_type="LIMIT", product="CNC",
            quantity=1, price=price - 10, tag="mkt-feed"))

    order = await database_sync_to_async(place)()

    update, _ = await receive_until(mine, "order_update")
    assert (update["account_id"], update["tag"]) == (mine_connection.account_id, "mkt-feed")
    assert update["order_id"] in (str(order.pk), order.order_id)
    assert await theirs.receive_nothing(timeout=1.0)
    await mine.disconnect()
    await theirs.disconnect()


# --- what is refused, and the socket stays open --------------------------------------------------------------

@pytest.mark.parametrize("text, named", [
    ("{not json", "Invalid JSON"),
    ("[1, 2]", "Send a JSON object"),
    ('{"action": "dance"}', "Unknown action 'dance'"),
    ('{"instrument_tokens": []}', "Unknown action;"),
    ('{"action": "subscribe"}', "instrument_tokens must be a non-empty list"),
    ('{"action": "subscribe", "instrument_tokens": []}', "instrument_tokens must be a non-empty list"),
    ('{"action": "subscribe", "instrument_tokens": "11536"}', "instrument_tokens must be a non-empty list"),
    (subscribe_message("999999"), "Unknown instrument 999999 on nse_cm"),
    (subscribe_message("11536", segment="nse_xx"), "Unknown exchange_segment 'nse_xx'"),
    (subscribe_message("11536", isDepth="yes"), "isDepth must be true or false"),
    (subscribe_message("11536", isIndex=1), "isIndex must be true or false"),
    (subscribe_message("999999", action="unsubscribe"), "Unknown instrument 999999 on nse_cm"),
    ('{"action": "subscribe", "instrument_tokens": [11536]}', "instrument_tokens[0] must be an object"),
])
async def test_a_bad_message_gets_an_error_naming_the_problem_and_the_socket_stays_open(
        user, paper_listing, text, named):
    socket, _ = await connected_market(user)

    await socket.send_to(text_data=text)

    error = json.loads(await socket.receive_from(timeout=WAIT))
    assert error["type"] == "error" and named in error["message"], error
    status, _ = await subscribed(socket)
    assert status["count"] == 2
    await socket.disconnect()


async def test_a_burst_of_five_is_fine_the_sixth_in_a_second_is_refused_and_later_it_works_again(
        user, paper_listing, monkeypatch):
    clock = SimpleNamespace(now=1000.0)
    monkeypatch.setattr(consumers, "time", SimpleNamespace(monotonic=lambda: clock.now))
    socket, _ = await connected_market(user)
    ping = json.dumps({"type": "ping"})

    replies = []
    for _ in range(7):
        await socket.send_to(text_data=ping)
        replies.append(json.loads(await socket.receive_from(timeout=WAIT)))
        clock.now += 0.1

    assert [r["type"] for r in replies] == ["pong"] * 5 + ["error"] * 2
    assert replies[5]["message"].startswith("Too many messages")
    clock.now += 1.0
    await socket.send_to(text_data=ping)
    assert json.loads(await socket.receive_from(timeout=WAIT))["type"] == "pong"
    await socket.send_to(text_data=ping)  # the one allowance it had is spent again
    assert json.loads(await socket.receive_from(timeout=WAIT))["type"] == "error"
    await socket.disconnect()


async def test_one_message_with_more_than_3000_instruments_is_refused(user, paper_listing):
    listed = await database_sync_to_async(PaperInstrument.objects.count)()
    assert listed < keys.SOCKET_INSTRUMENTS + 1  # else the limit is reachable by subscribing real instruments
    socket, _ = await connected_market(user)
    tokens = ["11536"] * (keys.SOCKET_INSTRUMENTS + 1)

    await socket.send_to(text_data=subscribe_message(*tokens))

    error = json.loads(await socket.receive_from(timeout=WAIT))
    assert error == {"type": "error", "message": "At most 3000 instruments on one socket."}
    await socket.send_to(text_data=subscribe_message(*tokens[:keys.SOCKET_INSTRUMENTS]))
    status, _ = await receive_until(socket, "status")
    assert status["count"] == 1  # 3,000 of one instrument are one instrument
    await socket.disconnect()


async def test_the_socket_limit_counts_what_it_already_has(user, paper_listing, monkeypatch):
    monkeypatch.setattr(keys, "SOCKET_INSTRUMENTS", 2)
    socket, _ = await connected_market(user)
    await subscribed(socket)

    await socket.send_to(text_data=subscribe_message("1594"))

    error, _ = await receive_until(socket, "error")
    assert "this socket has 2" in error["message"]
    await socket.send_to(text_data=subscribe_message("11536", isDepth=True))  # one it has: no new instrument
    status, _ = await receive_until(socket, "status")
    assert status["count"] == 2
    await socket.disconnect()


# --- conflation and order ------------------------------------------------------------------------------------

async def test_a_burst_of_ticks_arrives_latest_last_and_never_older_after_newer(user, paper_listing, feed):
    socket, _ = await connected_market(user)
    await subscribed(socket)
    await wait_listening(feed, keys.tick_channel(keys.PAPER_STREAM, TCS))

    for n in range(1, 51):  # 50 ticks, one feed pass each, while the client reads nothing
        await ticks_publish(feed, keys.PAPER_STREAM, {TCS: tick(TCS, f"{3100 + n}.00", T0 + timedelta(seconds=n))})

    received = []
    while not received or received[-1] != Decimal("3150.00"):
        message, _ = await receive_until(socket, "market_data")
        received.append(ltp(message))
    assert received == sorted(received) and len(set(received)) == len(received)
    assert await socket.receive_nothing(timeout=0.5), await socket.receive_from()
    await socket.disconnect()


async def test_a_first_value_older_than_a_tick_already_sent_is_never_sent_after_it(
        user, paper_listing, feed, monkeypatch):
    quote_first_values = snapshot.SocketAccount.last_values

    async def tick_arrives_meanwhile(self, resolved, mode):
        """The feed's tick reaches the socket while its first value is being fetched from the market."""
        await publish(feed, TCS, tick(TCS, "3999.00"))
        (socket_,) = hub.ticks[keys.tick_channel(keys.PAPER_STREAM, TCS)]
        for _ in range(int(WAIT / 0.01)):
            if TCS in socket_.live:
                break
            await asyncio.sleep(0.01)
        return await quote_first_values(self, resolved, mode)

    monkeypatch.setattr(snapshot.SocketAccount, "last_values", tick_arrives_meanwhile)
    socket, _ = await connected_market(user)

    await socket.send_to(text_data=subscribe_message("11536"))

    update, _ = await receive_until(socket, "market_data")
    assert ltp(update) == Decimal("3999.00")
    assert await socket.receive_nothing(timeout=0.5)  # the older quote is not sent after it
    await socket.disconnect()


async def test_a_slow_client_gets_the_latest_value_of_each_instrument_and_skips_the_rest():
    """The outbox behind every socket: while a send waits on the client, newer values replace older ones."""
    sent, release = [], asyncio.Event()

    async def slow_send(text):
        sent.append(text)
        await release.wait()

    outbox = consumers._Outbox(slow_send)
    outbox.put(TCS, "tcs-1")
    while not sent:
        await asyncio.sleep(0)
    outbox.put(TCS, "tcs-2")
    outbox.put(RELIANCE, "rel-2")
    for n in range(3, 51):  # a busy instrument goes to the back each time: it never starves a quiet one
        outbox.put(TCS, f"tcs-{n}")
    outbox.put("#status", "feed-down")
    release.set()
    for _ in range(100):
        await asyncio.sleep(0)

    assert sent == ["tcs-1", "rel-2", "tcs-50", "feed-down"]
    outbox.drop(TCS)
    outbox.close()



async def test_values_go_out_at_once_while_the_client_keeps_up_and_wait_conflated_once_its_buffer_is_full():
    """With the server's send_now (budhitrade.daphne_server): no task while the client keeps up; once send_now
    refuses (the buffer is full), values wait in the outbox, conflated, and newer ones queue behind them until
    the waiting ones have gone through the ASGI send."""
    framed, sent, full, release = [], [], [False], asyncio.Event()

    def send_now(text):
        if full[0]:
            return False
        framed.append(text)
        return True

    async def send(text):  # the ASGI send, waiting while the client's buffer is full
        await release.wait()
        sent.append(text)

    outbox = consumers._Outbox(send, send_now)
    outbox.put(TCS, "tcs-1")
    outbox.put(RELIANCE, "rel-1")
    assert framed == ["tcs-1", "rel-1"] and outbox._task is None
    full[0] = True
    outbox.put(TCS, "tcs-2")
    full[0] = False  # the buffer has room again, but tcs-2 still waits: nothing may overtake it
    outbox.put(RELIANCE, "rel-2")
    for n in range(3, 10):
        outbox.put(TCS, f"tcs-{n}")
    release.set()
    for _ in range(100):
        if outbox._task is None:
            break
        await asyncio.sleep(0)
    outbox.put(TCS, "tcs-10")

    assert sent == ["rel-2", "tcs-9"]
    assert framed == ["tcs-1", "rel-1", "tcs-10"]
    outbox.close()


async def test_the_hub_hands_out_only_each_channels_latest_of_what_it_has_already_received():
    """A process that fell behind: six ticks already buffered reach its sockets as each instrument's newest,
    in the order those newest arrived."""
    class Buffered:
        def __init__(self, messages):
            self.messages = list(messages)

        async def get_message(self, timeout=0.0):
            return self.messages.pop(0) if self.messages else None

    class Sink:
        client_id = "behind"

        def __init__(self):
            self.got = []

        def offer(self, key, text):
            self.got.append((key, json.loads(text)["data"]["ltp"]))

    behind, sink = Hub(), Sink()

    def message(*ticks):
        """One feed pass on the process's channel: (key, ltp) pairs."""
        lines = [keys.PAPER_STREAM, *(f"{line}" for key, ltp in ticks for line in (key, json.dumps({"ltp": ltp})))]
        return {"type": "message", "channel": keys.process_channel(behind.process_id).encode(),
                "data": "\n".join(lines).encode()}

    tcs, reliance = keys.tick_channel(keys.PAPER_STREAM, TCS), keys.tick_channel(keys.PAPER_STREAM, RELIANCE)
    behind.ticks = {tcs: {sink: StreamMode.QUOTE}, reliance: {sink: StreamMode.QUOTE}}
    behind._key_of = {tcs: TCS, reliance: RELIANCE}
    first, *buffered = [message((TCS, 1), (RELIANCE, 1)), message((TCS, 2)), message((TCS, 3), (RELIANCE, 2)),
                        message((TCS, 4))]
    behind._pubsub = Buffered(buffered)

    await behind._read_on(first)

    assert sink.got == [(RELIANCE, 2), (TCS, 4)]

# --- a broker's market data is its user's alone ----------------------------------------------------------------

async def test_a_users_broker_ticks_never_reach_another_user(user, other_user, kite_connection, paper_listing, feed):
    kite_connection_stream = str(kite_connection.pk)
    infy_kite = "nse_cm|408065"
    await feed.hset(keys.last_key(kite_connection_stream), infy_kite, tick(infy_kite, "1412.95"))
    mine, hello = await connected_market(user, "kite-tab", query="&account_id=ZX4821")
    theirs, _ = await connected_market(other_user, "paper-tab")
    assert (hello["broker"], hello["account_id"], hello["stream"]) == ("zerodha", "ZX4821", "broker")

    _, first = await subscribed(mine, subscribe_message("408065"))
    await subscribed(theirs, subscribe_message("1594"))  # INFY on the paper market

    assert ltp(first[infy_kite]) == Decimal("1412.95")
    await publish(feed, infy_kite, tick(infy_kite, "1420.00"), stream=kite_connection_stream)
    update, _ = await receive_until(mine, "market_data")
    assert ltp(update) == Decimal("1420.00")
    assert await listeners(feed, keys.tick_channel(keys.PAPER_STREAM, infy_kite)) == 0  # nothing of the Kite stream is listened for on the paper market
    assert await theirs.receive_nothing(timeout=1.0)
    assert await record_of("kite-tab") == {**await record_of("kite-tab"), "stream": kite_connection_stream}
    await mine.disconnect()
    await theirs.disconnect()


@pytest.mark.parametrize("query", ["&account_id=ZX4821", "&broker=zerodha"])
async def test_another_user_cannot_open_a_socket_on_a_users_broker_account(other_user, kite_connection, query):
    _, connected, code = await open_market(other_user, query=query)
    assert (connected, code) == (False, 4403)


# --- Redis and the channel layer failing under a socket ------------------------------------------------------

async def test_a_first_socket_that_found_redis_down_leaves_the_process_a_working_hub(
        user, paper_listing, monkeypatch):
    from brokers.market import hub as hub_module

    real = hub_module.async_client

    def down_for_the_first_write():
        client = real()
        original, failed = client.set, []

        async def set_(*args, **kwargs):
            if not failed:
                failed.append(True)
                raise redis.exceptions.ConnectionError("Redis is restarting")
            return await original(*args, **kwargs)

        client.set = set_
        return client

    monkeypatch.setattr(hub_module, "async_client", down_for_the_first_write)
    _, connected, code = await open_market(user, "first")
    assert (connected, code) == (False, consumers.CLOSE_UNAVAILABLE)

    socket, _ = await connected_market(user, "second")  # Redis is back

    status, first = await subscribed(socket)
    assert status["count"] == 2 and set(first) == {TCS, RELIANCE}
    await socket.disconnect()


async def test_a_socket_that_leaves_while_the_channel_layer_fails_still_drops_its_wants_and_record(
        user, paper_connection, market_redis, monkeypatch):
    from channels.layers import get_channel_layer

    socket, _ = await connected_market(user)
    await subscribed(socket)
    await socket.send_to(text_data=json.dumps({"action": "subscribe_orderfeed"}))
    await receive_until(socket, "status")  # in the paper account's order group from here

    async def refuse(*args, **kwargs):
        raise redis.exceptions.ConnectionError("the layer's Redis is away")

    monkeypatch.setattr(get_channel_layer(), "group_discard", refuse)
    try:
        await socket.disconnect()
    except redis.exceptions.ConnectionError:
        pass  # the consumer may end with the layer's error; what it had to undo in Redis is the point

    assert market_redis.hgetall(keys.want_key(hub.process_id)) == {}
    assert await record_of("tab-1") is None


async def test_the_hub_listens_on_one_connection_even_when_redis_is_slow_to_connect(market_redis, monkeypatch):
    """The listener's first SUBSCRIBE and start's go on one pub/sub connection: two opened at once would leave one
    subscribed and never read (Redis would buffer every tick for it)."""
    from brokers.market import hub as hub_module

    real = hub_module.async_client

    class SlowPool:
        """The client's pool, taking 0.2 s to hand a pub/sub its connection (a Redis far away, or busy)."""

        def __init__(self, pool):
            self.pool = pool

        def __getattr__(self, name):
            return getattr(self.pool, name)

        async def get_connection(self, *args, **kwargs):
            await asyncio.sleep(0.2)
            return await self.pool.get_connection(*args, **kwargs)

    def slow_to_connect():
        client = real()
        make_pubsub = client.pubsub

        def pubsub(**kwargs):
            made = make_pubsub(**kwargs)
            made.connection_pool = SlowPool(made.connection_pool)
            return made

        client.pubsub = pubsub
        return client

    monkeypatch.setattr(hub_module, "async_client", slow_to_connect)
    fresh = Hub()
    await fresh.start()
    try:
        await asyncio.sleep(0.5)  # the listener's pass, had it opened a connection of its own
        [(_, subscribers)] = market_redis.pubsub_numsub(keys.process_channel(fresh.process_id))
        assert subscribers == 1
    finally:
        for task in fresh._tasks:
            task.cancel()
        await fresh._pubsub.aclose()
        await fresh._redis.aclose()
