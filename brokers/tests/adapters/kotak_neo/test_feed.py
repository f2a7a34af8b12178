"""Kotak Neo's market feed (KotakNeoMarketStream) through the SDK's SFeed client, against a local SFeed server.

The server speaks the SFeed `native_batch` protocol as the SDK does: it
answers the JSON auth frame with Kotak's auth answer, each subscribe with
Kotak's subscribe acknowledgement (1109), and sends the binary packets in
resources/feed_*.packet (how they were made: resources/README.md).
"""

import asyncio
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import websockets

from brokers.adapters.base import BrokerError, BrokerSessionExpired, BrokerTimeout, BrokerUnavailable
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.adapters.kotak_neo.feed import KotakNeoMarketStream
from brokers.adapters.kotak_neo.mapping import TickBook
from brokers.adapters.streams import StreamInstrument
from brokers.calendar import IST
from brokers.domain import DepthLevel, QuoteInstrument
from brokers.market.keys import StreamMode
from brokers.pushes import TickPush
from brokers.tests.fixtures import ADAPTER_TESTS, NEO_TRADE_HOST, wire_body
from budhitrade.embedded_redis import free_port

CREDENTIALS = {"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"}
SESSION = {"edit_token": "eyJ.trade", "edit_sid": "sid-2", "base_url": NEO_TRADE_HOST, "ucc": "AB123"}
HDFCBANK = StreamInstrument(exchange="NSE", token="1333")
NIFTY_50 = StreamInstrument(exchange="NSE", token="Nifty 50", is_index=True)
WAIT = 20  # seconds: generous, the machine is shared
UPDATED_AT = datetime(2026, 6, 25, 13, 34, 17, tzinfo=IST)  # quotes_success.json's lstup_time 1782374657


def packet(name: str) -> bytes:
    return (ADAPTER_TESTS / "kotak_neo" / "resources" / f"feed_{name}.packet").read_bytes()


def control(name: str) -> str:
    return json.dumps(wire_body("kotak_neo", f"feed_{name}.json"))


class SFeedServer:
    """A local SFeed endpoint: signs a client in, acknowledges each subscribe, sends the packets it is given."""

    def __init__(self, auth_reply: str | None = None):
        self.port = free_port()
        self.url = f"ws://127.0.0.1:{self.port}/apifeed"
        self.auth_reply = auth_reply or control("auth_success")
        self.acks = {"subscribeIndices": control("subscribe_ack_index")}
        self.after_subscribe: dict[str, list[bytes]] = {}  # event -> packets sent after its ack
        self.received: list[dict] = []
        self.connections = 0
        self.socket = None
        self.subscribed = asyncio.Condition()

    async def __aenter__(self):
        self.server = await websockets.serve(self._handle, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc):
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, socket):
        self.connections += 1
        self.socket = socket
        self.received.append(json.loads(await socket.recv()))
        if self.auth_reply == "close":
            await socket.close(1008, "invalid session")
            return
        if self.auth_reply == "silence":
            await socket.wait_closed()
            return
        await socket.send(self.auth_reply)
        async for raw in socket:
            frame = json.loads(raw)
            async with self.subscribed:
                self.received.append(frame)
                self.subscribed.notify_all()
            if frame.get("ack_symbol"):
                await socket.send(self.acks.get(frame["event"], control("subscribe_ack")))
                for data in self.after_subscribe.pop(frame["event"], []):
                    await socket.send(data)

    async def send(self, *packets: bytes) -> None:
        await self.socket.send(b"".join(packets))  # one binary frame may batch several packets

    async def wait_for(self, event: str) -> dict:
        async with self.subscribed:
            await asyncio.wait_for(self.subscribed.wait_for(lambda: self.events().count(event)), WAIT)
        return [frame for frame in self.received if frame.get("event") == event][-1]

    def events(self) -> list[str]:
        return [frame["event"] for frame in self.received if "event" in frame]


@pytest.fixture
def stream(settings):
    """The adapter's stream, opened against the server the test starts on settings.KOTAK_NEO_FEED_URL."""
    def make(url: str, session: dict = SESSION) -> KotakNeoMarketStream:
        settings.KOTAK_NEO_FEED_URL = url
        adapter = KotakNeoAdapter(credentials=CREDENTIALS, session=session, options={"environment": "prod"})
        return adapter.market_stream()

    return make


async def next_quote(pushes):
    push = await asyncio.wait_for(anext(pushes), WAIT)
    assert isinstance(push, TickPush)
    return push.quote


def test_the_adapter_streams_market_data_on_one_feed_of_3000_instruments():
    assert KotakNeoAdapter.streams_market_data and not KotakNeoAdapter.market_data_shared
    assert KotakNeoAdapter.market_streams_per_key == 1 and KotakNeoMarketStream.max_instruments == 3000


async def test_a_touch_line_is_the_whole_quote_and_a_partial_packet_keeps_the_rest(stream):
    async with SFeedServer() as server:
        server.after_subscribe["subscribeScrips"] = [packet("touchline_hdfcbank")]
        async with stream(server.url) as feed:
            pushes = aiter(feed)
            await feed.subscribe([HDFCBANK], StreamMode.QUOTE)
            first = await next_quote(pushes)
            await server.send(packet("mini_touchline_hdfcbank"))
            second = await next_quote(pushes)

    auth, subscribe = server.received
    assert (auth["user"], auth["auth"], auth["format"], auth["source"]) == ("AB123", "sid-2", "native_batch",
                                                                           "NEOTRADEAPI")
    assert subscribe == {"event": "subscribeScrips", "inputtoken": "nse_cm|1333", "ack_symbol": True}
    assert first.instrument == QuoteInstrument(exchange="NSE", token="1333", tradingsymbol="HDFCBANK-EQ")
    assert (first.last_price, first.open, first.high, first.low, first.close, first.change) == (
        Decimal("801.60"), Decimal("798.50"), Decimal("804.45"), Decimal("796.00"), Decimal("793.20"),
        Decimal("8.40"))
    assert (first.volume, first.average_price, first.last_quantity, first.oi) == (30043533, Decimal("799.89"), 550, 0)
    assert (first.buy_quantity, first.sell_quantity) == (907335, 2883870)
    assert (first.week_52_high, first.week_52_low) == (Decimal("2037.70"), Decimal("726.65"))
    assert (first.upper_circuit, first.lower_circuit) == (Decimal("872.50"), Decimal("713.90"))
    assert (first.bids, first.asks) == ((DepthLevel(Decimal("801.60"), 1733, 4),),
                                        (DepthLevel(Decimal("801.65"), 550, 1),))
    assert first.exchange_timestamp == first.last_trade_at == UPDATED_AT
    # the mini touch line carries the trade; what it does not carry is the touch line's
    assert (second.last_price, second.change, second.last_quantity) == (Decimal("801.65"), Decimal("8.45"), 550)
    assert second.last_trade_at == UPDATED_AT + timedelta(seconds=1)
    for kept in ("open", "high", "low", "close", "volume", "average_price", "oi", "buy_quantity", "sell_quantity",
                 "week_52_high", "upper_circuit", "bids", "asks", "exchange_timestamp"):
        assert getattr(second, kept) == getattr(first, kept), kept
    assert second.instrument == first.instrument and second.received_at >= first.received_at


async def test_ltp_rides_the_mini_touch_line_and_a_higher_mode_moves_the_instrument_to_the_touch_line(stream):
    async with SFeedServer() as server:
        server.after_subscribe["subscribeScripsLite"] = [packet("mini_touchline_hdfcbank")]
        server.after_subscribe["subscribeScrips"] = [packet("touchline_hdfcbank")]
        async with stream(server.url) as feed:
            pushes = aiter(feed)
            await feed.subscribe([HDFCBANK], StreamMode.LTP)
            ltp = await next_quote(pushes)
            await feed.subscribe([HDFCBANK], StreamMode.QUOTE)
            quote = await next_quote(pushes)
            await feed.subscribe([HDFCBANK], StreamMode.QUOTE)  # already carried so: nothing sent

    assert server.events() == ["subscribeScripsLite", "unsubscribeScripsLite", "subscribeScrips"]
    assert ltp.last_price == Decimal("801.65") and (ltp.open, ltp.volume, ltp.bids) == (None, None, ())
    assert (quote.last_price, quote.open, quote.volume) == (Decimal("801.60"), Decimal("798.50"), 30043533)


async def test_depth_carries_five_levels_that_a_touch_line_does_not_cut_short(stream):
    async with SFeedServer() as server:
        server.after_subscribe["subscribeDepth"] = [packet("depth_hdfcbank")]
        async with stream(server.url) as feed:
            pushes = aiter(feed)
            await feed.subscribe([HDFCBANK], StreamMode.DEPTH)
            depth = await next_quote(pushes)
            await server.send(packet("touchline_hdfcbank"))
            after_touch_line = await next_quote(pushes)

    assert server.received[-1] == {"event": "subscribeDepth", "inputtoken": "nse_cm|1333", "ack_symbol": True}
    assert [(level.price, level.quantity, level.orders) for level in depth.bids] == [
        (Decimal("801.60"), 1733, 4), (Decimal("801.55"), 490, 1), (Decimal("801.50"), 623, 4),
        (Decimal("801.45"), 645, 3), (Decimal("801.40"), 723, 3)]
    assert [(level.price, level.quantity, level.orders) for level in depth.asks] == [
        (Decimal("801.65"), 550, 1), (Decimal("801.75"), 4383, 10), (Decimal("801.80"), 3393, 6),
        (Decimal("801.85"), 5449, 25), (Decimal("801.90"), 5900, 13)]
    assert depth.last_price == Decimal("801.60") and depth.volume == 30043533
    assert (after_touch_line.bids, after_touch_line.asks) == (depth.bids, depth.asks)


async def test_an_index_streams_under_the_name_it_was_subscribed_by(stream):
    async with SFeedServer() as server:
        server.after_subscribe["subscribeIndices"] = [packet("index_nifty_50")]
        async with stream(server.url) as feed:
            pushes = aiter(feed)
            await feed.subscribe([NIFTY_50], StreamMode.DEPTH)  # an index has no depth: the index channel
            index = await next_quote(pushes)

    assert server.received[-1] == {"event": "subscribeIndices", "inputtoken": "nse_cm|Nifty 50", "ack_symbol": True}
    # the packet names the index by a numeric token (4247863880) and its name
    assert index.instrument == QuoteInstrument(exchange="NSE", token="Nifty 50", tradingsymbol="Nifty 50-IN")
    assert (index.last_price, index.open, index.high, index.low, index.close, index.change) == (
        Decimal("24471.70"), Decimal("24575.10"), Decimal("24576.85"), Decimal("24429.25"), Decimal("24583.80"),
        Decimal("-112.10"))
    assert (index.week_52_high, index.week_52_low) == (Decimal("26373.20"), Decimal("22182.55"))
    assert index.exchange_timestamp == datetime(2026, 8, 11, 15, 29, 52, tzinfo=IST)  # 1786442392
    assert (index.volume, index.bids) == (None, ())


async def test_unsubscribe_sends_the_sdks_unsubscribe_and_the_instruments_late_packets_are_dropped(stream):
    async with SFeedServer() as server:
        async with stream(server.url) as feed:
            pushes = aiter(feed)
            await feed.subscribe([HDFCBANK], StreamMode.QUOTE)
            await feed.subscribe([NIFTY_50], StreamMode.QUOTE)
            await feed.unsubscribe([HDFCBANK, StreamInstrument(exchange="NSE", token="2885")])  # 2885 never carried
            unsubscribed = await server.wait_for("unsubscribeScrips")
            await server.send(packet("touchline_hdfcbank"), packet("index_nifty_50"))
            only = await next_quote(pushes)

    assert unsubscribed == {"event": "unsubscribeScrips", "inputtoken": "nse_cm|1333"}
    assert server.events() == ["subscribeScrips", "subscribeIndices", "unsubscribeScrips"]
    assert only.instrument.token == "Nifty 50"  # HDFCBANK's packet, sent first, made no push


@pytest.mark.parametrize("refusal", [control("auth_refused"), "close"], ids=["answer", "closed"])
async def test_a_refused_sign_in_is_an_expired_session(stream, refusal):
    async with SFeedServer(auth_reply=refusal) as server:
        feed = stream(server.url)
        with pytest.raises(BrokerSessionExpired):
            await asyncio.wait_for(feed.open(), WAIT)
    assert server.connections == 1  # not retried


async def test_a_sign_in_the_feed_never_answers_is_a_timeout_not_an_expired_session(stream):
    async with SFeedServer(auth_reply="silence") as server:
        feed = stream(server.url)
        with pytest.raises(BrokerTimeout):  # the SDK gives its auth answer 10 seconds
            await asyncio.wait_for(feed.open(), WAIT)


async def test_no_trade_session_is_an_expired_session_and_nothing_is_sent(stream):
    async with SFeedServer() as server:
        feed = stream(server.url, session={"base_url": NEO_TRADE_HOST, "ucc": "AB123"})
        with pytest.raises(BrokerSessionExpired):
            await feed.open()
    assert server.connections == 0


async def test_an_unreachable_feed_is_broker_unavailable(stream):
    feed = stream(f"ws://127.0.0.1:{free_port()}/apifeed")
    with pytest.raises(BrokerUnavailable):
        await asyncio.wait_for(feed.open(), WAIT)


async def test_when_the_server_closes_the_stream_ends_without_reconnecting(stream):
    async with SFeedServer() as server:
        server.after_subscribe["subscribeScrips"] = [packet("touchline_hdfcbank")]
        async with stream(server.url) as feed:
            pushes = aiter(feed)
            await feed.subscribe([HDFCBANK], StreamMode.QUOTE)
            await next_quote(pushes)
            await server.socket.close(1001, "going away")
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(anext(pushes), WAIT)
            with pytest.raises(BrokerUnavailable):
                await feed.subscribe([NIFTY_50], StreamMode.QUOTE)
    assert server.connections == 1


async def test_a_silent_feed_stays_open_and_yields_nothing_until_closed(stream):
    async with SFeedServer() as server:
        feed = stream(server.url)
        await feed.open()
        await feed.subscribe([HDFCBANK], StreamMode.QUOTE)
        waiting = asyncio.ensure_future(anext(aiter(feed)))
        # the SDK wakes every second to look for a close: two of its wake-ups pass with nothing to yield
        done, _ = await asyncio.wait({waiting}, timeout=2.5)
        assert not done and server.socket.state.name == "OPEN"
        await feed.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(waiting, WAIT)
        await feed.close()  # twice is fine


async def test_more_instruments_than_a_feed_carries_are_refused_and_nothing_is_sent(stream):
    async with SFeedServer() as server:
        async with stream(server.url) as feed:
            await feed.subscribe([HDFCBANK], StreamMode.QUOTE)
            many = [StreamInstrument(exchange="NFO", token=str(40000 + n)) for n in range(3000)]
            with pytest.raises(BrokerError, match="3000"):
                await feed.subscribe(many, StreamMode.LTP)
    assert server.events() == ["subscribeScrips"]


# --- the book alone: the SDK's own decoding of the same packets, merged ---------------------------

def decoded(name: str):
    from neo_api_client.websocket.feed.protocol import decode_packet

    return decode_packet(packet(name), {1: 100})  # nse_cm's divider in feed_auth_success.json


def test_an_index_packet_is_matched_by_its_name_whatever_its_case_and_spacing():
    book = TickBook()
    book.carry(NIFTY_50, StreamMode.QUOTE)
    index = decoded("index_nifty_50")

    upper = book.merge(index.model_copy(update={"name": "NIFTY  50"}), received_at=UPDATED_AT)
    other = book.merge(index.model_copy(update={"name": "Nifty Bank"}), received_at=UPDATED_AT)

    assert upper.instrument.token == "Nifty 50" and upper.last_price == Decimal("24471.70")
    assert other is None


def test_a_lower_mode_drops_the_book_and_keeps_the_rest():
    book = TickBook()
    book.carry(HDFCBANK, StreamMode.DEPTH)
    assert len(book.merge(decoded("depth_hdfcbank"), received_at=UPDATED_AT).bids) == 5

    book.carry(HDFCBANK, StreamMode.LTP)
    after = book.merge(decoded("mini_touchline_hdfcbank"), received_at=UPDATED_AT)

    assert (after.bids, after.asks) == ((), ())
    assert (after.last_price, after.open, after.volume) == (Decimal("801.65"), Decimal("798.50"), 30043533)


def test_market_status_and_uncarried_instruments_make_no_quote():
    from neo_api_client.websocket.feed.models import SFeedMarketStatus

    book = TickBook()
    status = SFeedMarketStatus(exchange_segment="nse_cm", status_code=2, status="Market closed")

    assert book.merge(status, received_at=UPDATED_AT) is None
    assert book.merge(decoded("touchline_hdfcbank"), received_at=UPDATED_AT) is None
