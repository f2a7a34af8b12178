"""KotakNeoAdapter holdings, positions and funds through the real neo_api_client SDK against recorded Neo responses."""

import logging
from decimal import Decimal

import httpx
import pytest

from brokers.adapters import wiremap
from brokers.adapters.base import BrokerError, BrokerSessionExpired, BrokerTimeout
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.domain import FundsSegment, Holding, Position, SegmentFunds
from brokers.tests.fixtures import NEO_TRADE_HOST

CREDENTIALS = {"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"}
TRADE_SESSION = {
    "edit_token": "eyJ.trade", "edit_sid": "sid-2", "edit_rid": "rid-2",
    "base_url": NEO_TRADE_HOST, "ucc": "AB123",
}
HOLDINGS = f"{NEO_TRADE_HOST}/portfolio/v1/holdings"
POSITIONS = f"{NEO_TRADE_HOST}/portfolio/v2/positions"
LIMITS = f"{NEO_TRADE_HOST}/quick/user/limits"


def quotes_url(*instruments: str, kind: str = "ltp") -> str:
    return f"{NEO_TRADE_HOST}/script-details/1.0/quotes/neosymbol/{','.join(instruments)}/{kind}"


TCS_FUTURE_LTP = quotes_url("nse_fo|61304")


@pytest.fixture(autouse=True)
def holdings_cache(tmp_path, monkeypatch):
    # The SDK caches holdings on disk per UCC and day; keep each test's apart.
    monkeypatch.setenv("NEO_HOLDINGS_CACHE_DIR", str(tmp_path / "neo_holdings_cache"))


@pytest.fixture
def fresh_unknown_values(monkeypatch):
    monkeypatch.setattr(wiremap, "_seen", set())


def adapter():
    return KotakNeoAdapter(credentials=CREDENTIALS, session=TRADE_SESSION, options={"environment": "prod"})


def test_holdings_are_valued_at_kotaks_market_value_and_cost(neo_wire):
    neo_wire.reply("GET", HOLDINGS, "holdings_success.json")

    (holding,) = adapter().holdings()

    assert holding == Holding(
        tradingsymbol="IDEA",
        exchange="NSE",
        isin="",
        quantity=35,
        average_price=Decimal("9.5699"),
        last_price=Decimal("9.36"),
        # The answer has no previous close: no day change is made up.
        close_price=Decimal("0"),
        # mktValue 327.6 - holdingCost 334.9475
        pnl=Decimal("-7.3475"),
        day_change=None,
        product="CNC",
        sellable_quantity=35,
        market_value=Decimal("327.6"),
        holding_cost=Decimal("334.9475"),
        instrument_token="14366",
    )
    request = neo_wire.calls(HOLDINGS)[0]
    assert request.headers["Sid"] == "sid-2" and request.headers["Auth"] == "eyJ.trade"


def test_a_share_listed_on_nse_and_bse_is_one_holding(neo_wire):
    neo_wire.reply("GET", HOLDINGS, "holdings_alternate_scrip.json")

    holdings = adapter().holdings()

    assert [(h.tradingsymbol, h.exchange, h.quantity, h.pnl, h.instrument_token) for h in holdings] == [
        ("YESBANK", "NSE", 4, Decimal("-5.49"), "11915"),
        ("CESC", "NSE", 2, Decimal("-12.42"), "628"),
    ]


def test_positions_are_valued_at_kotaks_quoted_last_price(neo_wire):
    neo_wire.reply("GET", POSITIONS, "positions_success.json")
    neo_wire.reply("GET", TCS_FUTURE_LTP, "quotes_positions.json")

    (future,) = adapter().positions()

    assert future == Position(
        tradingsymbol="TCS26JULFUT",
        exchange="NFO",
        product="NRML",
        quantity=225,
        average_price=Decimal("2112.0"),
        last_price=Decimal("2117.0000"),
        close_price=Decimal("0"),
        # 225 x 2117.00 - 475200.00
        pnl=Decimal("1125.0"),
        m2m=Decimal("1125.0"),
        day_pnl=Decimal("1125.0"),
        value=Decimal("-475200.00"),
        buy_quantity=225,
        buy_price=Decimal("2112.00"),
        sell_quantity=0,
        sell_price=Decimal("0"),
        overnight_quantity=0,
        instrument_token="61304",
        multiplier=Decimal("1"),
        realised=Decimal("0"),
        unrealised=Decimal("1125.0"),
    )
    (quote_call,) = neo_wire.calls(TCS_FUTURE_LTP)
    assert quote_call.headers["Authorization"] == "neoConsumerKey1"
    # Nothing carried in: no holdings are read.
    assert neo_wire.calls(HOLDINGS) == []


@pytest.mark.parametrize("quotes", ["fail", "timeout", "missing instrument", "zero"])
def test_positions_without_a_price_keep_quantities_and_realised_pnl(neo_wire, quotes):
    neo_wire.reply("GET", POSITIONS, "positions_success.json")
    if quotes == "fail":
        neo_wire.reply("GET", TCS_FUTURE_LTP, "login_totp_invalid.json", status=503)
    elif quotes == "timeout":
        neo_wire.fail("GET", TCS_FUTURE_LTP, httpx.ReadTimeout)
    elif quotes == "missing instrument":
        neo_wire.reply("GET", TCS_FUTURE_LTP, "quotes_success.json")  # it prices HDFCBANK only
    else:
        neo_wire.routes[("GET", TCS_FUTURE_LTP)] = (200, [{"exchange": "nse_fo", "exchange_token": "61304", "ltp": "0"}])

    (future,) = adapter().positions()

    assert (future.last_price, future.pnl, future.m2m, future.day_pnl, future.unrealised) == (None,) * 5
    assert (future.quantity, future.buy_quantity, future.average_price, future.realised) == (
        225, 225, Decimal("2112.0"), Decimal("0"))
    assert len(neo_wire.calls(TCS_FUTURE_LTP)) == 1


def test_a_closed_position_needs_no_price_its_pnl_is_realised(neo_wire):
    neo_wire.reply("GET", POSITIONS, "positions_closed.json")  # BANKNIFTY21JULFUT bought and sold 25 at 105

    (closed,) = adapter().positions()

    assert (closed.quantity, closed.last_price, closed.pnl, closed.realised, closed.unrealised) == (
        0, None, Decimal("0.0"), Decimal("0.00"), Decimal("0.00"))
    assert (closed.buy_price, closed.sell_price, closed.value) == (Decimal("105.00"), Decimal("105.00"), Decimal("0"))


def test_positions_are_quoted_fifty_a_call_each_taking_from_the_budget(neo_wire):
    from brokers.tests.fixtures import wire_body

    body = wire_body("kotak_neo", "positions_success.json")
    row = body["data"][0]
    body["data"] = [{**row, "tok": str(70000 + n), "trdSym": f"TCS{n}"} for n in range(120)]
    neo_wire.routes[("GET", POSITIONS)] = (200, body)
    batches = [[f"nse_fo|{70000 + n}" for n in range(start, min(start + 50, 120))] for start in (0, 50, 100)]
    for batch in batches:
        rows = [{"exchange": "nse_fo", "exchange_token": item.split("|")[1], "ltp": "2117"} for item in batch]
        neo_wire.routes[("GET", quotes_url(*batch))] = (200, rows)
    taken = []
    kotak = adapter()
    kotak.call_wait = lambda: taken.append(1) or 0.0

    positions = kotak.positions()

    assert [len(neo_wire.calls(quotes_url(*batch))) for batch in batches] == [1, 1, 1]
    assert len(taken) == 3
    assert all(p.last_price == Decimal("2117") and p.pnl == Decimal("1125.0") for p in positions)


def test_a_failed_quotes_batch_leaves_it_and_the_later_ones_unpriced_without_asking_again(neo_wire):
    from brokers.tests.fixtures import wire_body

    body = wire_body("kotak_neo", "positions_success.json")
    row = body["data"][0]
    body["data"] = [{**row, "tok": str(70000 + n), "trdSym": f"TCS{n}"} for n in range(120)]
    neo_wire.routes[("GET", POSITIONS)] = (200, body)
    batches = [[f"nse_fo|{70000 + n}" for n in range(start, min(start + 50, 120))] for start in (0, 50, 100)]
    neo_wire.routes[("GET", quotes_url(*batches[0]))] = (200, [
        {"exchange": "nse_fo", "exchange_token": item.split("|")[1], "ltp": "2117"} for item in batches[0]])
    neo_wire.routes[("GET", quotes_url(*batches[1]))] = (503, {"message": "Service Unavailable"})
    kotak = adapter()
    kotak.call_wait = lambda: 0.0

    positions = kotak.positions()

    assert [len(neo_wire.calls(quotes_url(*batch))) for batch in batches] == [1, 1, 0]
    assert [p.last_price for p in positions] == [Decimal("2117")] * 50 + [None] * 70
    assert all(p.pnl is None and p.quantity == positions[0].quantity for p in positions[50:])


def test_carried_equity_is_valued_at_its_holdings_cost_and_m2m_at_the_previous_close(neo_wire):
    neo_wire.reply("GET", POSITIONS, "positions_carry_forward.json")
    neo_wire.reply("GET", HOLDINGS, "holdings_success.json")
    neo_wire.reply("GET", quotes_url("nse_cm|14366"), "quotes_positions.json")
    taken = []
    kotak = adapter()
    kotak.call_wait = lambda: taken.append(1) or 0.0

    (position,) = kotak.positions()

    assert len(neo_wire.calls(HOLDINGS)) == 1
    assert len(taken) == 2  # the holdings call and one quotes call
    assert (position.tradingsymbol, position.quantity, position.overnight_quantity) == ("IDEA-EQ", 35, 35)
    # Cost from holdings: 35 x 9.5699 = 334.9465; 35 x 9.60 = 336.00.
    assert position.average_price == Decimal("9.57")
    assert position.pnl == position.unrealised == Decimal("1.05")
    # MTM from the previous close (cfBuyAmt 327.60): 336.00 - 327.60.
    assert position.m2m == position.day_pnl == Decimal("8.4")
    assert position.close_price == Decimal("9.36")
    assert position.value == Decimal("-327.60")


def test_carried_equity_without_its_holding_has_no_pnl_but_still_syncs(neo_wire):
    neo_wire.reply("GET", POSITIONS, "positions_carry_forward.json")
    neo_wire.reply("GET", HOLDINGS, "positions_no_data.json")
    neo_wire.reply("GET", quotes_url("nse_cm|14366"), "quotes_positions.json")

    (position,) = adapter().positions()

    assert (position.quantity, position.pnl, position.unrealised) == (35, None, None)
    # The previous close stands in for the unknown cost; the day's MTM is still known.
    assert (position.average_price, position.m2m) == (Decimal("9.36"), Decimal("8.4"))


def test_funds_are_one_equity_segment_from_limits(neo_wire):
    neo_wire.reply("POST", LIMITS, "limits_success.json")

    (funds,) = adapter().funds()

    assert isinstance(funds, SegmentFunds)
    assert (funds.segment, funds.enabled) == (FundsSegment.EQUITY, True)
    assert funds.net == Decimal("19.409999999999997")
    assert funds.available == {
        "cash": Decimal("38.19"),
        "intraday_payin": Decimal("0"),
        "collateral": Decimal("0"),
        "live_balance": Decimal("19.409999999999997"),
        "adhoc_margin": Decimal("0"),
        "notional_cash": Decimal("0"),
    }
    assert funds.utilised["debits"] == Decimal("18.78")
    assert set(funds.utilised) == {
        "debits", "exposure", "span", "option_premium", "m2m_realised", "m2m_unrealised", "delivery", "payout",
    }


def test_no_data_answer_is_an_empty_book_not_an_error(neo_wire):
    neo_wire.reply("GET", POSITIONS, "positions_no_data.json")
    neo_wire.reply("GET", HOLDINGS, "positions_no_data.json")

    assert adapter().positions() == []
    assert adapter().holdings() == []
    assert [r for r in neo_wire.requests if "quotes" in str(r.url)] == []


def test_no_data_is_still_an_error_for_funds(neo_wire):
    neo_wire.reply("POST", LIMITS, "positions_no_data.json")

    with pytest.raises(BrokerError) as caught:
        adapter().funds()

    assert "No Data" in caught.value.detail


@pytest.mark.parametrize(
    "method,verb,url",
    [("holdings", "GET", HOLDINGS), ("positions", "GET", POSITIONS), ("funds", "POST", LIMITS)],
)
def test_expired_session_is_recognised(neo_wire, method, verb, url):
    neo_wire.reply(verb, url, "session_expired.json", status=401)

    with pytest.raises(BrokerSessionExpired) as caught:
        getattr(adapter(), method)()

    assert caught.value.status_code == 409


@pytest.mark.parametrize("method,verb,url", [("holdings", "GET", HOLDINGS), ("positions", "GET", POSITIONS)])
def test_broker_5xx_is_a_bad_gateway(neo_wire, method, verb, url):
    neo_wire.reply(verb, url, "login_totp_invalid.json", status=503)

    with pytest.raises(BrokerError) as caught:
        getattr(adapter(), method)()

    assert caught.value.status_code == 502


@pytest.mark.parametrize("method,verb,url", [("holdings", "GET", HOLDINGS), ("positions", "GET", POSITIONS)])
def test_timeout_is_a_broker_timeout(neo_wire, method, verb, url):
    neo_wire.fail(verb, url, httpx.ReadTimeout)

    with pytest.raises(BrokerTimeout):
        getattr(adapter(), method)()


def test_a_position_on_a_segment_budhitrade_cannot_name_keeps_kotaks_segment(neo_wire, caplog, fresh_unknown_values):
    neo_wire.reply("GET", POSITIONS, "positions_unknown_segment.json")

    with caplog.at_level(logging.WARNING, logger="budhitrade.brokers"):
        (position,) = adapter().positions()
        adapter().positions()

    assert (position.tradingsymbol, position.exchange, position.quantity) == ("TCS26JULFUT", "nse_com", 225)
    unknown = [r for r in caplog.records if r.getMessage() == "kotak_neo_unknown_value"]
    assert [(r.field, r.value) for r in unknown] == [("exchange segment", "nse_com")]  # logged once
