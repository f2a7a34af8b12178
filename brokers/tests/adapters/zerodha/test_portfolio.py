"""ZerodhaAdapter holdings, positions and funds through the real kiteconnect SDK against recorded Kite responses."""

from decimal import Decimal

import pytest
import requests

from brokers.adapters.base import BrokerError, BrokerSessionExpired, BrokerTimeout
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.domain import FundsSegment, Holding, Position, SegmentFunds

CREDENTIALS = {"api_key": "kitekey123", "api_secret": "kitesecret456"}
SESSION = {"access_token": "kAcc3ssT0kenValue9"}


def adapter():
    return ZerodhaAdapter(credentials=CREDENTIALS, session=SESSION)


def test_holdings_map_every_field_of_a_kite_holding(kite_wire):
    kite_wire.reply("GET", "/portfolio/holdings", "portfolio_holdings.json")

    holdings = adapter().holdings()

    assert holdings[0] == Holding(
        tradingsymbol="AARON",
        exchange="NSE",
        isin="INE721Z01010",
        quantity=1,
        average_price=Decimal("161"),
        last_price=Decimal("352.95"),
        close_price=Decimal("352.35"),
        pnl=Decimal("191.95"),
        day_change=Decimal("0.5999999999999659"),
        product="CNC",
        collateral_quantity=0,
        collateral_type="",
    )
    assert [(h.tradingsymbol, h.exchange, h.quantity) for h in holdings] == [("AARON", "NSE", 1), ("SBIN", "BSE", 16)]
    assert holdings[1].average_price == Decimal("801.78125")


def test_holdings_send_the_access_token(kite_wire):
    kite_wire.reply("GET", "/portfolio/holdings", "portfolio_holdings.json")

    adapter().holdings()

    request = kite_wire.calls("/portfolio/holdings")[0].request
    assert request.headers["Authorization"] == "token kitekey123:kAcc3ssT0kenValue9"


def test_positions_map_the_net_list_with_day_m2m_as_day_pnl(kite_wire):
    kite_wire.reply("GET", "/portfolio/positions", "portfolio_positions.json")

    positions = adapter().positions()

    assert [p.tradingsymbol for p in positions] == ["LEADMINI17DECFUT", "GOLDGUINEA17DECFUT", "SBIN"]
    assert positions[1] == Position(
        tradingsymbol="GOLDGUINEA17DECFUT",
        exchange="MCX",
        product="NRML",
        quantity=0,
        average_price=Decimal("0"),
        last_price=Decimal("23355"),
        close_price=Decimal("23232"),
        pnl=Decimal("801"),
        m2m=Decimal("276"),
        day_pnl=Decimal("276"),
        value=Decimal("801"),
        buy_quantity=4,
        buy_price=Decimal("23139.75"),
        sell_quantity=4,
        sell_price=Decimal("23340"),
        overnight_quantity=3,
        instrument_token="53505799",
    )
    assert positions[0].value == Decimal("-161050") and positions[0].average_price == Decimal("161.05")
    assert positions[2].product == "CO"


def test_funds_give_equity_and_commodity_with_all_named_amounts(kite_wire):
    kite_wire.reply("GET", "/user/margins", "user_margins.json")

    equity, commodity = adapter().funds()

    assert isinstance(equity, SegmentFunds)
    assert (equity.segment, equity.enabled, equity.net) == (FundsSegment.EQUITY, True, Decimal("99725.05000000002"))
    assert equity.available == {
        "cash": Decimal("245431.6"),
        "intraday_payin": Decimal("0"),
        "collateral": Decimal("0"),
        "live_balance": Decimal("99725.05000000002"),
        "opening_balance": Decimal("245431.6"),
        "adhoc_margin": Decimal("0"),
    }
    assert equity.utilised == {
        "debits": Decimal("145706.55"),
        "exposure": Decimal("38981.25"),
        "m2m_realised": Decimal("761.7"),
        "m2m_unrealised": Decimal("0"),
        "option_premium": Decimal("0"),
        "span": Decimal("101989"),
        "holding_sales": Decimal("0"),
        "turnover": Decimal("0"),
        "payout": Decimal("0"),
        "liquid_collateral": Decimal("0"),
        "stock_collateral": Decimal("0"),
        "delivery": Decimal("0"),
    }
    assert (commodity.segment, commodity.net) == (FundsSegment.COMMODITY, Decimal("100661.7"))
    assert commodity.available["cash"] == Decimal("100661.7")


def test_empty_book_gives_empty_lists(kite_wire):
    kite_wire.reply("GET", "/portfolio/holdings", "portfolio_holdings_empty.json")
    kite_wire.reply("GET", "/portfolio/positions", "portfolio_positions_empty.json")

    assert adapter().holdings() == []
    assert adapter().positions() == []


@pytest.mark.parametrize(
    "method,path",
    [("holdings", "/portfolio/holdings"), ("positions", "/portfolio/positions"), ("funds", "/user/margins")],
)
def test_expired_access_token_means_the_session_expired(kite_wire, method, path):
    kite_wire.reply("GET", path, "session_expired.json", status=403)

    with pytest.raises(BrokerSessionExpired) as caught:
        getattr(adapter(), method)()

    assert caught.value.status_code == 409


def test_broker_5xx_on_holdings_is_a_bad_gateway(kite_wire):
    kite_wire.reply("GET", "/portfolio/holdings", "server_error.json", status=502)

    with pytest.raises(BrokerError) as caught:
        adapter().holdings()

    assert caught.value.status_code == 502


def test_timeout_on_positions_is_a_broker_timeout(kite_wire):
    kite_wire.fail("GET", "/portfolio/positions", requests.ReadTimeout("read timed out"))

    with pytest.raises(BrokerTimeout):
        adapter().positions()


def test_unknown_exchange_is_refused_not_guessed(kite_wire):
    kite_wire.reply("GET", "/portfolio/holdings", "portfolio_holdings_unknown_exchange.json")

    with pytest.raises(BrokerError) as caught:
        adapter().holdings()

    assert caught.value.status_code == 502
    assert "unknown exchange: 'LSE'" in caught.value.detail
