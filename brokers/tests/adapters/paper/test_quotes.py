"""Quotes from the paper market: its own prices, the day's OHLC, volume, OI and the matching engine's depth."""

from datetime import datetime
from decimal import Decimal

import pytest

from brokers.adapters.paper.adapter import PaperAdapter
from brokers.domain import DepthLevel, QuoteInstrument, QuoteKind
from brokers.paper import market
from brokers.paper.models import PaperInstrument
from brokers.tests.fixtures import PAPER_START_DAY, ist

pytestmark = pytest.mark.django_db


@pytest.fixture
def adapter(paper_market, paper_account) -> PaperAdapter:
    market.market_advance(to=ist(PAPER_START_DAY, 11, 0))
    return PaperAdapter(credentials={}, session={}, account_id=paper_account.account_id)


def test_a_quote_carries_the_markets_price_ohlc_volume_and_five_levels_of_engine_depth(adapter):
    itc = PaperInstrument.objects.get(tradingsymbol="ITC")

    [quote] = adapter.quotes([QuoteInstrument(exchange="NSE", token=str(itc.token))])

    assert quote.instrument == QuoteInstrument(exchange="NSE", token=str(itc.token))
    assert (quote.last_price, quote.open, quote.high, quote.low, quote.close) == (
        itc.last_price, itc.open_price, itc.high_price, itc.low_price, itc.close_price)
    assert quote.change == itc.last_price - itc.close_price and quote.volume == itc.volume > 0
    assert quote.oi is None  # an equity has no open interest
    tick = Decimal("0.05")
    assert quote.asks == tuple(DepthLevel(price=itc.last_price + n * tick, quantity=500) for n in range(5))
    assert quote.bids == tuple(DepthLevel(price=itc.last_price - n * tick, quantity=500) for n in range(5))
    assert (quote.buy_quantity, quote.sell_quantity) == (2500, 2500)
    assert quote.exchange_timestamp == ist(PAPER_START_DAY, 11, 0) and isinstance(quote.received_at, datetime)
    assert quote.week_52_high is None and quote.upper_circuit is None  # what the paper market does not keep


def test_quotes_come_in_the_order_asked_by_token_or_symbol_and_leave_out_what_is_not_listed(adapter):
    future = PaperInstrument.objects.get(tradingsymbol="NIFTY26NOVFUT")
    asked = [QuoteInstrument(exchange="NFO", tradingsymbol="NIFTY26NOVFUT"),
             QuoteInstrument(exchange="NSE", tradingsymbol="NOSUCHSTOCK"),
             QuoteInstrument(exchange="NSE", token="26000")]

    future_quote, index_quote = adapter.quotes(asked)

    assert future_quote.instrument == asked[0] and future_quote.oi == future.oi > 0
    assert future_quote.asks[0] == DepthLevel(price=future.last_price, quantity=65 * 20)
    assert index_quote.instrument == asked[2] and index_quote.last_price > 20000
    assert (index_quote.bids, index_quote.asks, index_quote.volume) == ((), (), None)  # an index is not traded


@pytest.mark.parametrize("kind, priced", [(QuoteKind.LTP, False), (QuoteKind.OHLC, True)])
def test_ltp_and_ohlc_quotes_carry_only_what_they_ask_for(adapter, kind, priced):
    [quote] = adapter.quotes([QuoteInstrument(exchange="NSE", tradingsymbol="TCS")], kind)

    assert quote.last_price == PaperInstrument.objects.get(tradingsymbol="TCS").last_price
    assert (quote.open is not None, quote.close is not None) == (priced, priced)
    assert (quote.volume, quote.bids, quote.asks) == (None, (), ())


def test_after_the_close_the_book_is_empty_and_the_price_stands(adapter):
    market.market_advance(to=ist(PAPER_START_DAY, 16, 0))

    [quote] = adapter.quotes([QuoteInstrument(exchange="NSE", tradingsymbol="ITC")])

    assert quote.last_price == PaperInstrument.objects.get(tradingsymbol="ITC").last_price
    assert (quote.bids, quote.asks) == ((), ())
