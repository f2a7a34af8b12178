"""ZerodhaAdapter holdings, positions and funds through the real kiteconnect SDK against recorded Kite responses."""

from decimal import Decimal

import pytest
import requests

from brokers.adapters.base import BrokerError, BrokerSessionExpired, BrokerTimeout
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.domain import FundsSegment, Holding, Position, SegmentFunds
from brokers.tests.fixtures import KITE_ROOT, wire_body

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
        t1_quantity=0,
        sellable_quantity=1,
        market_value=Decimal("352.95"),
        holding_cost=Decimal("161"),
        instrument_token="263681",
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
        multiplier=Decimal("1"),
        realised=Decimal("0"),
        unrealised=Decimal("801"),
    )
    assert positions[0].value == Decimal("-161050") and positions[0].average_price == Decimal("161.05")
    assert positions[0].multiplier == Decimal("1000")  # a lead mini lot: 1,000 kg a quoted price
    assert positions[2].product == "CO"


def test_holdings_bought_yesterday_count_in_quantity_value_and_cost_as_kites_pnl_does(kite_wire):
    kite_wire.reply("GET", "/portfolio/holdings", "history/holdings@e1987f4.json")

    holdings = {h.tradingsymbol: h for h in adapter().holdings()}

    sbin = holdings["SBIN"]  # 11 settled, 7 bought on the previous session
    assert (sbin.quantity, sbin.t1_quantity, sbin.sellable_quantity) == (11, 7, 18)
    assert sbin.market_value == Decimal("426.9") * 18 and sbin.holding_cost == Decimal("429") * 18
    assert sbin.pnl == Decimal("-37.80000000000041")
    assert (sbin.last_price - sbin.average_price) * 18 == Decimal("-37.8")  # Kite's pnl is over both
    wipro = holdings["WIPRO"]  # nothing settled yet
    assert (wipro.quantity, wipro.t1_quantity, wipro.market_value) == (0, 4, Decimal("2203.40"))


def test_a_holdings_answer_without_used_quantity_leaves_sellable_unknown(kite_wire):
    kite_wire.reply("GET", "/portfolio/holdings", "history/holdings@a9b6449.json")

    holdings = adapter().holdings()

    assert len(holdings) == 43 and {h.sellable_quantity for h in holdings} == {None}
    assert all(h.market_value == h.last_price * (h.quantity + h.t1_quantity) for h in holdings)


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


def test_an_unknown_exchange_keeps_kites_value_in_that_holding_and_the_others_come_through(
        kite_wire, caplog, monkeypatch):
    monkeypatch.setattr("brokers.adapters.wiremap._seen", set())  # as in a fresh process
    kite_wire.reply("GET", "/portfolio/holdings", "portfolio_holdings_unknown_exchange.json")

    with caplog.at_level("WARNING", logger="budhitrade.brokers"):
        holdings = adapter().holdings()

    assert [(h.tradingsymbol, h.exchange, h.quantity) for h in holdings] == [("AARON", "LSE", 1), ("SBIN", "BSE", 16)]
    assert holdings[0].pnl == Decimal("191.95")
    assert [(r.field, r.value) for r in caplog.records if r.getMessage() == "zerodha_unknown_value"] == [
        ("exchange", "LSE")]


def test_an_unknown_exchange_keeps_kites_value_in_that_position_and_the_others_come_through(kite_wire):
    kite_wire.reply("GET", "/portfolio/positions", "portfolio_positions_unknown_exchange.json")

    positions = adapter().positions()

    assert [(p.tradingsymbol, p.exchange) for p in positions] == [
        ("LEADMINI17DECFUT", "NCO"), ("GOLDGUINEA17DECFUT", "MCX"), ("SBIN", "NSE")]


def test_a_position_kite_gives_no_price_for_has_no_valuation_rather_than_zero(kite_wire):
    body = wire_body("zerodha", "portfolio_positions.json")
    body["data"]["net"][1]["last_price"] = None  # the GOLDGUINEA row, as if Kite had no price for it
    kite_wire.mock.add("GET", f"{KITE_ROOT}/portfolio/positions", json=body)

    gold = adapter().positions()[1]

    assert (gold.last_price, gold.pnl, gold.m2m, gold.day_pnl, gold.unrealised) == (None, None, None, None, None)
    assert (gold.realised, gold.buy_quantity, gold.sell_quantity) == (Decimal("0"), 4, 4)
