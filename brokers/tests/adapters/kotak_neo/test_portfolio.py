"""KotakNeoAdapter holdings, positions and funds through the real neo_api_client SDK against recorded Neo responses."""

from decimal import Decimal

import httpx
import pytest

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


@pytest.fixture(autouse=True)
def holdings_cache(tmp_path, monkeypatch):
    # The SDK caches holdings on disk per UCC and day; keep each test's apart.
    monkeypatch.setenv("NEO_HOLDINGS_CACHE_DIR", str(tmp_path / "neo_holdings_cache"))


def adapter():
    return KotakNeoAdapter(credentials=CREDENTIALS, session=TRADE_SESSION, options={"environment": "prod"})


def test_holdings_map_every_field_of_a_neo_holding(neo_wire):
    neo_wire.reply("GET", HOLDINGS, "holdings_success.json")

    holdings = adapter().holdings()

    assert holdings[0] == Holding(
        tradingsymbol="ITBEES",
        exchange="NSE",
        isin="",
        quantity=45,
        average_price=Decimal("38.7162"),
        last_price=Decimal("39.36"),
        # prevDayLtp is 0 on the wire: no close to measure a day change from.
        close_price=Decimal("0"),
        pnl=Decimal("28.9707"),
        day_change=Decimal("0"),
        product="CNC",
    )
    assert [(h.tradingsymbol, h.quantity, h.pnl) for h in holdings] == [
        ("ITBEES", 45, Decimal("28.9707")),
        ("IDEA", 35, Decimal("-7.3465")),
    ]
    request = neo_wire.calls(HOLDINGS)[0]
    assert request.headers["Sid"] == "sid-2" and request.headers["Auth"] == "eyJ.trade"


def test_positions_net_todays_fills_with_the_sdks_pnl(neo_wire):
    neo_wire.reply("GET", POSITIONS, "positions_success.json")

    future, equity = adapter().positions()

    assert future == Position(
        tradingsymbol="TCS26JULFUT",
        exchange="NFO",
        product="NRML",
        quantity=225,
        average_price=Decimal("2112.0"),
        last_price=Decimal("2117.00"),
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
    )
    assert (equity.tradingsymbol, equity.exchange, equity.product) == ("AXISBANK-EQ", "NSE", "CNC")
    assert (equity.quantity, equity.average_price, equity.pnl) == (9, Decimal("651.43"), Decimal("33.0"))
    # Nothing carried in: the positions call alone answers, without holdings.
    assert neo_wire.calls(HOLDINGS) == []


def test_carried_equity_is_valued_at_its_holdings_cost_and_m2m_at_the_previous_close(neo_wire):
    neo_wire.reply("GET", POSITIONS, "positions_carry_forward.json")
    neo_wire.reply("GET", HOLDINGS, "holdings_success.json")

    (position,) = adapter().positions()

    assert len(neo_wire.calls(HOLDINGS)) == 1
    assert (position.tradingsymbol, position.quantity, position.overnight_quantity) == ("ITBEES-EQ", 45, 45)
    # Cost from holdings: 45 x 38.7162 = 1742.229; 45 x 39.36 = 1771.20.
    assert position.average_price == Decimal("38.72")
    assert position.pnl == Decimal("28.97")
    # MTM from the previous close (cfBuyAmt 1755.00): 1771.20 - 1755.00.
    assert position.m2m == position.day_pnl == Decimal("16.2")
    assert position.close_price == Decimal("39.00")
    assert position.value == Decimal("-1755.00")


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


def test_unknown_exchange_segment_is_refused_not_guessed(neo_wire):
    neo_wire.reply("GET", POSITIONS, "positions_unknown_segment.json")

    with pytest.raises(BrokerError) as caught:
        adapter().positions()

    assert caught.value.status_code == 502
    assert "unknown exchange segment: 'nse_com'" in caught.value.detail
