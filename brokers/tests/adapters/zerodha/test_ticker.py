"""Kite's ticker through kiteconnect's own KiteTicker, against a local WebSocket server replaying Kite's packets.

The server (kite_ticker.py) checks what KiteTicker sends (the handshake's api_key and
access_token, Kite's subscribe, mode and unsubscribe messages) and answers
with the recorded binary packets, framed as Kite frames them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.protocol import State

from brokers.adapters.base import BrokerError, BrokerSessionExpired, BrokerUnavailable
from brokers.adapters.streams import StreamInstrument
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.adapters.zerodha.ticker import HEARTBEAT as HEARTBEAT_MESSAGE
from brokers.adapters.zerodha.ticker import ZerodhaMarketStream
from brokers.domain import DepthLevel, QuoteInstrument
from brokers.market.keys import StreamMode
from brokers.pushes import FeedState, FeedStatusPush, TickPush
from brokers.tests.adapters.zerodha.kite_ticker import HEARTBEAT, WAIT, KiteTickerServer, kite_frame, packet
from brokers.tests.fixtures import wire_body
from budhitrade.embedded_redis import free_port

CREDENTIALS = {"api_key": "kitekey123", "api_secret": "kitesecret456"}
SESSION = {"access_token": "kAcc3ssT0kenValue9"}
INFY = StreamInstrument(exchange="NSE", token="408065")
NIFTY_50 = StreamInstrument(exchange="NSE", token="256265", is_index=True)


@pytest.fixture
async def kite(settings):
    server = KiteTickerServer()
    settings.KITE_TICKER_URL = server.url
    async with server.serve():
        yield server


@pytest.fixture
async def stream(kite):
    stream = ZerodhaAdapter(credentials=CREDENTIALS, session=SESSION).market_stream()
    yield stream
    await stream.close()


async def next_push(stream):
    return await asyncio.wait_for(anext(stream), WAIT)


async def open_and_subscribe(stream, kite, instrument: StreamInstrument, mode: StreamMode) -> None:
    await stream.open()
    assert (await next_push(stream)).state == FeedState.UP
    await stream.subscribe([instrument], mode)
    assert await kite.next_message() == {"a": "subscribe", "v": [int(instrument.token)]}
    assert await kite.next_message() == {"a": "mode", "v": [{1: "ltp", 2: "quote", 3: "full"}[mode],
                                                            [int(instrument.token)]]}


def money(value) -> Decimal:
    return Decimal(str(value))


# The decoded JSON's names (kiteconnect-mocks) for the Quote's counts.
COUNTS = {"last_quantity": "last_quantity", "volume": "volume", "buy_quantity": "buy_quantity",
          "sell_quantity": "sell_quantity", "oi": "oi", "oi_day_high": "oi_day_high", "oi_day_low": "oi_day_low"}


def assert_quote_is(quote, body: dict, *, exchange: str = "NSE") -> None:
    """Each field of the Quote against the decoded tick; what the tick does not carry is None (depth empty)."""
    assert quote.instrument == QuoteInstrument(exchange=exchange, token=str(body["instrument_token"]))
    assert quote.last_price == money(body["last_price"]) and isinstance(quote.last_price, Decimal)
    ohlc = body.get("ohlc")
    for field in ("open", "high", "low", "close"):
        assert getattr(quote, field) == (money(ohlc[field]) if ohlc else None), field
    assert quote.change == (quote.last_price - quote.close if ohlc else None)
    assert quote.average_price == (money(body["average_price"]) if "average_price" in body else None)
    for key, field in COUNTS.items():
        assert getattr(quote, field) == body.get(key), field
    for key, field in (("last_trade_time", "last_trade_at"), ("timestamp", "exchange_timestamp")):
        expected = datetime.fromisoformat(body[key]) if key in body else None
        assert getattr(quote, field) == expected, field
        assert expected is None or getattr(quote, field).utcoffset() is not None
    depth = body.get("depth") or {"buy": [], "sell": []}
    assert quote.bids == tuple(DepthLevel(money(level["price"]), level["quantity"], level["orders"])
                               for level in depth["buy"])
    assert quote.asks == tuple(DepthLevel(money(level["price"]), level["quantity"], level["orders"])
                               for level in depth["sell"])
    assert (quote.week_52_high, quote.week_52_low, quote.upper_circuit, quote.lower_circuit) == (None,) * 4


@pytest.mark.parametrize("mode, name", [
    (StreamMode.LTP, "ticker_ltp"), (StreamMode.QUOTE, "ticker_quote"), (StreamMode.DEPTH, "ticker_full"),
])
async def test_each_mode_subscribes_in_kites_mode_and_streams_its_packet_as_a_quote(kite, stream, mode, name):
    await open_and_subscribe(stream, kite, INFY, mode)

    await kite.send(name)
    push = await next_push(stream)

    assert isinstance(push, TickPush)
    assert_quote_is(push.quote, wire_body("zerodha", f"{name}.json"))


async def test_handshake_carries_the_sessions_api_key_and_access_token(kite, stream):
    await stream.open()

    (handshake,) = kite.handshakes
    query = parse_qs(urlsplit(handshake.path).query)
    assert query == {"api_key": ["kitekey123"], "access_token": ["kAcc3ssT0kenValue9"]}
    assert handshake.headers["X-Kite-Version"] == "3"


async def test_index_tick_takes_the_subscribed_exchange_and_carries_no_depth(kite, stream):
    await open_and_subscribe(stream, kite, NIFTY_50, StreamMode.DEPTH)

    await kite.send("ticker_index_full")
    push = await next_push(stream)

    assert_quote_is(push.quote, wire_body("zerodha", "ticker_index_full.json"))
    assert push.quote.bids == push.quote.asks == () and push.quote.volume is None


async def test_ticks_unread_by_the_feed_are_conflated_to_the_latest(kite, stream):
    await open_and_subscribe(stream, kite, INFY, StreamMode.DEPTH)

    await kite.connection.send(kite_frame(packet("ticker_ltp"), packet("ticker_quote")))
    await kite.send("ticker_full")
    # KiteTicker answers a ping after reading every frame sent before it: all three ticks are in, none read.
    await asyncio.wait_for(await kite.connection.ping(), WAIT)
    latest = await next_push(stream)
    await kite.send("ticker_ltp")
    after = await next_push(stream)

    assert latest.quote.last_price == Decimal("1573.7") and latest.quote.bids  # the full tick; the other two dropped
    assert after.quote.last_price == Decimal("1573.15") and after.quote.volume is None


async def test_unsubscribe_sends_kites_unsubscribe(kite, stream):
    await open_and_subscribe(stream, kite, INFY, StreamMode.QUOTE)

    await stream.unsubscribe([INFY])

    assert await kite.next_message() == {"a": "unsubscribe", "v": [408065]}


async def test_more_than_3000_instruments_are_refused_before_anything_is_sent(kite, stream):
    await stream.open()
    too_many = [StreamInstrument(exchange="NSE", token=str(1000 + n)) for n in range(3001)]

    with pytest.raises(BrokerError, match="3000"):
        await stream.subscribe(too_many, StreamMode.LTP)
    await stream.subscribe([INFY], StreamMode.LTP)

    assert await kite.next_message() == {"a": "subscribe", "v": [408065]}


@pytest.mark.parametrize("status, error", [
    (HTTPStatus.FORBIDDEN, BrokerSessionExpired), (HTTPStatus.INTERNAL_SERVER_ERROR, BrokerUnavailable),
])
async def test_a_refused_handshake_fails_open(kite, stream, status, error):
    kite.refuse = status

    with pytest.raises(error):
        await stream.open()

    assert len(kite.handshakes) == 1
    with pytest.raises(StopAsyncIteration):
        await next_push(stream)


async def test_an_unreachable_ticker_is_unavailable_as_soon_as_kiteticker_gives_up(settings):
    settings.KITE_TICKER_URL = f"ws://127.0.0.1:{free_port()}"  # nothing listens there
    settings.BROKER_TIMEOUT_SECONDS = 45  # so the stream's own timeout ("did not answer in time") cannot be it
    stream = ZerodhaAdapter(credentials=CREDENTIALS, session=SESSION).market_stream()

    with pytest.raises(BrokerUnavailable, match="cannot be reached"):
        await stream.open()
    await stream.close()


async def test_a_session_without_an_access_token_is_expired_before_any_connection(kite):
    stream = ZerodhaAdapter(credentials=CREDENTIALS, session={}).market_stream()

    with pytest.raises(BrokerSessionExpired):
        await stream.open()
    assert kite.handshakes == []


async def test_server_closing_ends_the_stream_after_its_ticks_and_a_down_status(kite, stream):
    await open_and_subscribe(stream, kite, INFY, StreamMode.QUOTE)

    await kite.send("ticker_quote")
    await kite.connection.close()

    assert isinstance(await next_push(stream), TickPush)
    down = await next_push(stream)
    assert isinstance(down, FeedStatusPush) and down.state == FeedState.DOWN
    with pytest.raises(StopAsyncIteration):
        await next_push(stream)
    with pytest.raises(BrokerUnavailable):
        await stream.subscribe([INFY], StreamMode.QUOTE)


async def test_a_heartbeat_says_the_connection_is_alive_once_however_many_came_unread(kite, stream):
    await open_and_subscribe(stream, kite, INFY, StreamMode.QUOTE)

    for _ in range(3):
        await kite.connection.send(HEARTBEAT)
    # KiteTicker answers a ping after reading every frame sent before it: the heartbeats have been read.
    await asyncio.wait_for(await kite.connection.ping(), WAIT)
    alive = await next_push(stream)
    waiting = asyncio.create_task(anext(stream))
    await kite.send("ticker_quote")
    after = await asyncio.wait_for(waiting, WAIT)

    assert alive == FeedStatusPush(state=FeedState.UP, message=HEARTBEAT_MESSAGE)
    assert isinstance(after, TickPush)  # the three heartbeats were one push, and a tick is no heartbeat


async def test_a_silent_server_keeps_the_stream_open_and_yielding_nothing_until_close(kite, stream):
    await open_and_subscribe(stream, kite, INFY, StreamMode.QUOTE)
    await kite.send("ticker_quote")
    assert isinstance(await next_push(stream), TickPush)
    waiting = asyncio.create_task(anext(stream))

    await asyncio.wait_for(await kite.connection.ping(), WAIT)  # the socket is open and KiteTicker reads it

    assert not waiting.done()
    assert kite.connection.state == State.OPEN
    await stream.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(waiting, WAIT)
    await asyncio.wait_for(kite.disconnected.wait(), WAIT)


def test_zerodha_streams_its_own_market_data_on_three_connections_of_3000():
    adapter = ZerodhaAdapter(credentials=CREDENTIALS, session=SESSION)

    assert adapter.streams_market_data and not adapter.market_data_shared
    assert adapter.market_streams_per_key == 3
    stream = adapter.market_stream()
    assert isinstance(stream, ZerodhaMarketStream) and stream.max_instruments == 3000
