"""The paper market's stream: ticks for what moved when the paper market advances, nothing when it stands still."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from brokers.adapters.paper.adapter import PaperAdapter
from brokers.adapters.paper.stream import PaperMarketStream
from brokers.adapters.streams import StreamInstrument
from brokers.domain import QuoteInstrument
from brokers.market.keys import StreamMode
from brokers.paper import market
from brokers.paper.models import PaperInstrument
from brokers.pushes import FeedState, FeedStatusPush, TickPush
from brokers.tests.fixtures import PAPER_START_DAY, ist

# The stream reads the database from channels' worker thread: the rows must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

TCS = StreamInstrument(exchange="NSE", token="11536")
RELIANCE = StreamInstrument(exchange="NSE", token="2885")
NIFTY_50 = StreamInstrument(exchange="NSE", token="26000", is_index=True)
WAIT = 30  # seconds: generous, the machine is shared


@pytest.fixture
def opened_market(paper_market):
    market.market_advance(to=ist(PAPER_START_DAY, 10, 0))
    return paper_market


@pytest.fixture
async def stream(opened_market):
    stream = PaperAdapter(credentials={}, session={}).market_stream()
    await stream.open()
    yield stream
    await stream.close()


async def advance(to) -> None:
    await database_sync_to_async(market.market_advance)(to=to)


async def row(token: str) -> PaperInstrument:
    return await database_sync_to_async(PaperInstrument.objects.get)(token=int(token))


def ticks(pushes) -> dict[str, object]:
    return {push.quote.instrument.token: push.quote for push in pushes if isinstance(push, TickPush)}


async def test_the_adapter_streams_one_shared_market_on_the_paper_calendar(settings):
    adapter = PaperAdapter(credentials={}, session={})

    assert isinstance(adapter.market_stream(), PaperMarketStream)
    assert adapter.streams_market_data and adapter.market_data_shared
    assert adapter.market_open(ist(PAPER_START_DAY, 10, 0))
    assert not adapter.market_open(ist(PAPER_START_DAY, 16, 0))
    assert not adapter.market_open(ist(PAPER_START_DAY + timedelta(days=5), 10, 0))  # a Saturday
    settings.PAPER_MARKET_HOURS = "always"
    assert adapter.market_open(ist(PAPER_START_DAY + timedelta(days=5), 22, 0))


async def test_a_subscription_yields_each_instruments_current_value_once_then_nothing_while_the_market_stands_still(
        stream):
    await stream.subscribe([TCS, RELIANCE], StreamMode.QUOTE)

    first = ticks(await stream.poll())

    tcs = await row("11536")
    assert set(first) == {"11536", "2885"}
    quote = first["11536"]
    assert quote.instrument == QuoteInstrument(exchange="NSE", token="11536")
    assert (quote.last_price, quote.open, quote.high, quote.low, quote.close, quote.volume) == (
        tcs.last_price, tcs.open_price, tcs.high_price, tcs.low_price, tcs.close_price, tcs.volume)
    assert quote.exchange_timestamp == ist(PAPER_START_DAY, 10, 0)
    assert (quote.bids, quote.asks) == ((), ())  # depth only for a depth subscription
    assert await stream.poll() == []
    assert await stream.poll() == []


async def test_the_market_advancing_yields_a_tick_for_each_instrument_that_moved(stream):
    await stream.subscribe([TCS, RELIANCE], StreamMode.LTP)
    await stream.poll()

    await advance(ist(PAPER_START_DAY, 10, 1))
    moved = ticks(await stream.poll())

    assert set(moved) == {"11536", "2885"}
    for token, quote in moved.items():
        assert quote.last_price == (await row(token)).last_price
        assert quote.exchange_timestamp == ist(PAPER_START_DAY, 10, 1)
        assert quote.open is None and quote.volume is None  # an LTP subscription carries the last price alone
    assert await stream.poll() == []


async def test_depth_comes_at_depth_mode_and_an_index_has_neither_depth_nor_volume(stream):
    await stream.subscribe([TCS], StreamMode.DEPTH)
    await stream.subscribe([NIFTY_50], StreamMode.DEPTH)

    first = ticks(await stream.poll())

    tcs = await row("11536")
    assert [level.price for level in first["11536"].asks] == [tcs.last_price + n * Decimal("0.05") for n in range(5)]
    assert first["11536"].buy_quantity == 2500
    nifty = first["26000"]
    assert nifty.last_price > 20000 and (nifty.bids, nifty.asks, nifty.volume) == ((), (), None)


async def test_a_market_whose_clock_moves_while_prices_stand_still_yields_a_heartbeat(paper_market):
    await advance(ist(PAPER_START_DAY, 15, 35))  # after the close prices stand still, the clock goes on
    stream = PaperMarketStream()
    await stream.open()
    await stream.subscribe([TCS], StreamMode.QUOTE)
    await stream.poll()

    await advance(ist(PAPER_START_DAY, 15, 40))

    assert await stream.poll() == [FeedStatusPush(state=FeedState.UP)]
    assert await stream.poll() == []
    await stream.close()


async def test_an_unsubscribed_instrument_ticks_no_more_and_an_unknown_token_never(stream):
    await stream.subscribe([TCS, RELIANCE, StreamInstrument(exchange="NSE", token="Nifty 50")], StreamMode.LTP)
    await stream.poll()

    await stream.unsubscribe([RELIANCE])
    await advance(ist(PAPER_START_DAY, 10, 2))

    assert set(ticks(await stream.poll())) == {"11536"}


async def test_iterating_yields_the_ticks_as_they_come_and_ends_when_closed(stream, settings):
    settings.PAPER_STREAM_INTERVAL_SECONDS = 0.05
    pushes = stream.__aiter__()
    await stream.subscribe([TCS], StreamMode.LTP)

    first = await asyncio.wait_for(anext(pushes), WAIT)
    await advance(ist(PAPER_START_DAY, 10, 3))
    second = await asyncio.wait_for(anext(pushes), WAIT)
    await stream.close()

    assert first.quote.exchange_timestamp == ist(PAPER_START_DAY, 10, 0)
    assert second.quote.exchange_timestamp == ist(PAPER_START_DAY, 10, 3)
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(pushes), WAIT)
