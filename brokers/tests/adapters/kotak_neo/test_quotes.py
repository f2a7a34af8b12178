"""KotakNeoAdapter.quotes through the real NeoAPI.quotes against Kotak's recorded quote answer."""

from datetime import datetime
from decimal import Decimal

import httpx
import pytest

from brokers.adapters.base import BrokerError, BrokerOrderRejected, BrokerTimeout
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.calendar import IST
from brokers.domain import DepthLevel, QuoteInstrument, QuoteKind
from brokers.tests.fixtures import NEO_TRADE_HOST

CREDENTIALS = {"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"}
SESSION = {"edit_token": "eyJ.trade", "edit_sid": "sid-2", "base_url": NEO_TRADE_HOST, "ucc": "AB123"}
HDFCBANK = QuoteInstrument(exchange="NSE", token="1333", tradingsymbol="HDFCBANK-EQ")


def quotes_url(*instruments: str, kind: str = "all") -> str:
    return f"{NEO_TRADE_HOST}/script-details/1.0/quotes/neosymbol/{','.join(instruments)}/{kind}"


def adapter():
    return KotakNeoAdapter(credentials=CREDENTIALS, session=SESSION, options={"environment": "prod"})


def test_a_full_quote_maps_price_ohlc_depth_52_weeks_and_circuit_limits(neo_wire):
    neo_wire.reply("GET", quotes_url("nse_cm|1333"), "quotes_success.json")

    (quote,) = adapter().quotes([HDFCBANK])

    assert quote.instrument == HDFCBANK
    assert (quote.last_price, quote.open, quote.high, quote.low, quote.close, quote.change) == (
        Decimal("801.6000"), Decimal("798.5000"), Decimal("804.4500"), Decimal("796.0000"), Decimal("793.2000"),
        Decimal("8.4000"))
    assert (quote.volume, quote.average_price, quote.last_quantity, quote.oi) == (
        30043533, Decimal("799.8900"), 550, 0)
    assert (quote.buy_quantity, quote.sell_quantity) == (907335, 2883870)
    assert (quote.week_52_high, quote.week_52_low) == (Decimal("2037.7"), Decimal("726.65"))
    assert (quote.upper_circuit, quote.lower_circuit) == (Decimal("872.5000"), Decimal("713.9000"))
    assert len(quote.bids) == len(quote.asks) == 5
    assert quote.bids[0] == DepthLevel(price=Decimal("801.6000"), quantity=1733, orders=4)
    assert quote.asks[4] == DepthLevel(price=Decimal("801.9000"), quantity=5900, orders=13)
    assert quote.exchange_timestamp == datetime(2026, 6, 25, 13, 34, 17, tzinfo=IST)  # lstup_time 1782374657
    assert quote.received_at.tzinfo is not None
    assert (quote.oi_day_high, quote.oi_day_low, quote.last_trade_at) == (None, None, None)  # Kotak sends none
    (request,) = neo_wire.calls(quotes_url("nse_cm|1333"))
    assert request.headers["Authorization"] == "neoConsumerKey1"


@pytest.mark.parametrize("kind,wire", [
    (QuoteKind.ALL, "all"), (QuoteKind.DEPTH, "market_depth"), (QuoteKind.OHLC, "ohlc"), (QuoteKind.LTP, "ltp"),
    (QuoteKind.OI, "oi"), (QuoteKind.WEEK_52, "52w"), (QuoteKind.CIRCUIT_LIMITS, "circuit_limits"),
    (QuoteKind.SCRIP_DETAILS, "scrip_details"),
])
def test_each_kind_asks_for_kotaks_quote_type(neo_wire, kind, wire):
    neo_wire.reply("GET", quotes_url("nse_cm|1333", kind=wire), "quotes_success.json")

    assert [q.last_price for q in adapter().quotes([HDFCBANK], kind)] == [Decimal("801.6000")]


def test_parts_a_quote_type_leaves_out_are_none(neo_wire):
    neo_wire.routes[("GET", quotes_url("nse_cm|1333", kind="ltp"))] = (
        200, [{"exchange_token": "1333", "display_symbol": "HDFCBANK-EQ", "exchange": "nse_cm", "ltp": "801.6000"}])

    (quote,) = adapter().quotes([HDFCBANK], QuoteKind.LTP)

    assert quote.last_price == Decimal("801.6000")
    assert (quote.open, quote.volume, quote.oi, quote.week_52_high, quote.upper_circuit) == (None,) * 5
    assert (quote.bids, quote.asks) == ((), ())


def test_more_than_fifty_instruments_go_in_batches_in_the_order_asked(neo_wire):
    instruments = [QuoteInstrument(exchange="NFO", token=str(50000 + n)) for n in range(120)]
    batches = [[f"nse_fo|{50000 + n}" for n in range(start, min(start + 50, 120))] for start in (0, 50, 100)]
    for batch in batches:
        # Kotak's rows need not come back in the order sent
        rows = [{"exchange": "nse_fo", "exchange_token": item.split("|")[1], "ltp": item.split("|")[1]}
                for item in reversed(batch)]
        neo_wire.routes[("GET", quotes_url(*batch, kind="ltp"))] = (200, rows)
    taken = []
    kotak = adapter()
    kotak.call_wait = lambda: taken.append(1) or 0.0

    quotes = kotak.quotes(instruments, QuoteKind.LTP)

    assert [len(neo_wire.calls(quotes_url(*batch, kind="ltp"))) for batch in batches] == [1, 1, 1]
    assert [q.instrument for q in quotes] == instruments
    assert [q.last_price for q in quotes] == [Decimal(50000 + n) for n in range(120)]
    assert len(taken) == 2  # the first call is the caller's own, as for every adapter call


def test_an_instrument_kotak_does_not_answer_for_keeps_its_place_with_nothing_in_it(neo_wire):
    unanswered = QuoteInstrument(exchange="NSE", token="99999")
    neo_wire.reply("GET", quotes_url("nse_cm|99999", "nse_cm|1333"), "quotes_success.json")

    quotes = adapter().quotes([unanswered, HDFCBANK])

    assert [q.instrument for q in quotes] == [unanswered, HDFCBANK]
    assert quotes[0].last_price is None and quotes[0].bids == () and quotes[1].last_price is not None


def test_an_instrument_without_a_token_is_refused_before_anything_is_sent(neo_wire):
    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().quotes([QuoteInstrument(exchange="NSE", tradingsymbol="ITC-EQ")])

    assert caught.value.status_code == 400 and "NSE:ITC-EQ" in caught.value.detail
    assert [r for r in neo_wire.requests if "quotes" in str(r.url)] == []


def test_an_exchange_kotak_does_not_quote_is_refused(neo_wire):
    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().quotes([QuoteInstrument(exchange="NYSE", token="1")])

    assert caught.value.status_code == 400


def test_a_failed_quote_call_is_a_broker_error(neo_wire):
    neo_wire.reply("GET", quotes_url("nse_cm|1333"), "login_totp_invalid.json", status=503)

    with pytest.raises(BrokerError) as caught:
        adapter().quotes([HDFCBANK])

    assert caught.value.status_code == 502


def test_a_quote_call_that_times_out_is_a_broker_timeout(neo_wire):
    neo_wire.fail("GET", quotes_url("nse_cm|1333"), httpx.ReadTimeout)

    with pytest.raises(BrokerTimeout):
        adapter().quotes([HDFCBANK])
