"""The paper exchange's accounts: fills, T+1 delivery, MIS square-off, SPAN-like margin, settlement, funds."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from brokers.adapters.paper.adapter import PaperAdapter
from brokers.domain import LimitsExchange, LimitsProduct, LimitsSegment
from brokers.paper import ledger, market
from brokers.paper.models import PaperAccount, PaperHolding, PaperInstrument, PaperPosition
from brokers.tests.fixtures import PAPER_START_DAY, ist

pytestmark = pytest.mark.django_db
TUESDAY = PAPER_START_DAY + timedelta(days=1)


def instrument(symbol: str) -> PaperInstrument:
    return PaperInstrument.objects.get(tradingsymbol=symbol)


def fill(account, symbol, side, quantity, product, price=None):
    row = instrument(symbol)
    return ledger.ledger_fill(account_id=account.account_id, instrument=row, side=side, quantity=quantity,
                              price=row.last_price if price is None else Decimal(price), product=product)


def adapter(account) -> PaperAdapter:
    return PaperAdapter(credentials={}, session={}, account_id=account.account_id)


def cash(account) -> Decimal:
    return PaperAccount.objects.get(pk=account.pk).cash


def test_delivery_buy_pays_cash_now_and_becomes_a_holding_the_next_session(paper_market, paper_account):
    fill(paper_account, "INFY", "BUY", 10, "CNC", "1500")

    assert cash(paper_account) == Decimal("985000")
    assert adapter(paper_account).holdings() == []
    [position] = adapter(paper_account).positions()
    assert (position.tradingsymbol, position.product, position.quantity) == ("INFY", "CNC", 10)

    market.market_advance(to=ist(TUESDAY, 9, 15))

    [holding] = adapter(paper_account).holdings()
    assert (holding.tradingsymbol, holding.quantity, holding.average_price, holding.isin) == ("INFY", 10, Decimal("1500.00"), "INE009A01021")
    assert adapter(paper_account).positions() == []


def test_selling_more_than_held_is_refused_and_changes_nothing(paper_market, paper_account):
    with pytest.raises(ledger.FillRejected, match="Insufficient holdings"):
        fill(paper_account, "TCS", "SELL", 1, "CNC")
    assert cash(paper_account) == Decimal("1000000") and not PaperPosition.objects.exists()


def test_intraday_position_is_squared_off_at_1520_and_its_pnl_reaches_cash_next_session(paper_market, paper_account):
    fill(paper_account, "SBIN", "BUY", 100, "MIS", "950")
    assert cash(paper_account) == Decimal("1000000")  # intraday equity blocks margin, it does not pay cash

    market.market_advance(to=ist(PAPER_START_DAY, 15, 21))
    [position] = adapter(paper_account).positions()
    exit_price = PaperPosition.objects.get().sell_value / 100
    assert (position.quantity, position.sell_quantity) == (0, 100)
    assert position.pnl == ((exit_price - 950) * 100).quantize(Decimal("0.01"))

    market.market_advance(to=ist(TUESDAY, 9, 15))
    assert cash(paper_account) == Decimal("1000000") + (exit_price - 950) * 100
    assert not PaperPosition.objects.exists()


def test_intraday_equity_blocks_a_fifth_of_its_value(paper_market, paper_account):
    fill(paper_account, "ITC", "BUY", 1000, "MIS", "400")
    [funds] = adapter(paper_account).funds()
    ltp = instrument("ITC").last_price

    assert funds.utilised["debits"] == (Decimal("0.2") * 1000 * ltp).quantize(Decimal("0.01"))
    assert funds.net == (Decimal("1000000") - funds.utilised["debits"] + funds.utilised["m2m_unrealised"].min(0)
                         ).quantize(Decimal("0.01"))


def test_futures_block_span_and_exposure_and_are_marked_to_the_close(paper_market, paper_account):
    future = instrument("NIFTY26NOVFUT")
    fill(paper_account, "NIFTY26NOVFUT", "BUY", 65, "NRML")
    [funds] = adapter(paper_account).funds()
    notional = future.last_price * 65
    assert funds.utilised["span"] == (notional * Decimal("0.06")).quantize(Decimal("0.01"))
    assert funds.utilised["exposure"] == (notional * Decimal("0.02")).quantize(Decimal("0.01"))

    market.market_advance(to=ist(TUESDAY, 9, 15))
    close = instrument("NIFTY26NOVFUT").close_price
    assert cash(paper_account) == Decimal("1000000") + (close - future.last_price) * 65
    position = PaperPosition.objects.get()
    assert (position.overnight_quantity, position.overnight_price, position.buy_quantity) == (65, close, 0)


def test_futures_quantity_must_be_whole_lots(paper_market, paper_account):
    with pytest.raises(ledger.FillRejected, match="lot size 65"):
        fill(paper_account, "NIFTY26NOVFUT", "BUY", 50, "NRML")


def test_delivery_is_not_a_product_for_futures_nor_nrml_for_shares(paper_market, paper_account):
    with pytest.raises(ledger.FillRejected, match="CNC is not allowed"):
        fill(paper_account, "NIFTY26NOVFUT", "BUY", 65, "CNC")
    with pytest.raises(ledger.FillRejected, match="NRML is not allowed"):
        fill(paper_account, "INFY", "BUY", 1, "NRML")


def test_an_order_beyond_the_funds_is_refused_for_insufficient_margin(paper_market, paper_account):
    with pytest.raises(ledger.FillRejected, match="Insufficient margin"):
        fill(paper_account, "MARUTI", "BUY", 100, "CNC")  # 16 lakh of shares on 10 lakh of cash
    assert cash(paper_account) == Decimal("1000000") and not PaperPosition.objects.exists()


def test_reducing_a_position_is_allowed_even_when_funds_are_short(paper_market, paper_account):
    fill(paper_account, "NIFTY26NOVFUT", "BUY", 65 * 7, "NRML")  # 7 lots block about 9.5 lakh
    PaperAccount.objects.filter(pk=paper_account.pk).update(cash=Decimal("100000"))

    fill(paper_account, "NIFTY26NOVFUT", "SELL", 65, "NRML")

    assert PaperPosition.objects.get().quantity == 65 * 6


def test_short_option_blocks_span_on_the_underlying_and_long_option_pays_premium(paper_market, paper_account):
    spot = instrument("NIFTY 50").last_price
    strike = int(round(spot / 50) * 50) + 500
    call = f"NIFTY26NOV{strike}CE"
    premium = instrument(call).last_price
    fill(paper_account, call, "BUY", 65, "NRML")
    assert cash(paper_account) == Decimal("1000000") - premium * 65
    assert adapter(paper_account).funds()[0].utilised["span"] == 0

    put = f"NIFTY26NOV{strike - 1000}PE"
    fill(paper_account, put, "SELL", 65, "NRML")
    out_of_money = spot - (strike - 1000)
    span = max(Decimal("0.06") * spot - out_of_money / 2, Decimal("0.03") * spot) * 65
    assert adapter(paper_account).funds()[0].utilised["span"] == span.quantize(Decimal("0.01"))


def test_an_expired_option_settles_at_its_final_price(paper_market, paper_account):
    spot = instrument("NIFTY 50").last_price
    strike = int(round(spot / 50) * 50) - 500
    symbol = f"NIFTY26NOV{strike}CE"
    fill(paper_account, symbol, "BUY", 65, "NRML")
    after_premium = cash(paper_account)

    market.market_advance(to=ist(date(2026, 11, 25), 9, 15))

    final = instrument(symbol).close_price
    assert not instrument(symbol).active
    assert cash(paper_account) == after_premium + final * 65
    assert not PaperPosition.objects.exists()


def test_limits_filter_by_segment_and_product(paper_market, paper_account):
    fill(paper_account, "NIFTY26NOVFUT", "BUY", 65, "NRML")
    fill(paper_account, "ITC", "BUY", 100, "MIS")
    paper = adapter(paper_account)

    def margin(segment, product=LimitsProduct.ALL, exchange=LimitsExchange.ALL):
        return paper.limits(segment=segment, exchange=exchange, product=product).margin_used

    everything = margin(LimitsSegment.ALL)
    assert margin(LimitsSegment.FO) + margin(LimitsSegment.CASH) == everything
    assert margin(LimitsSegment.CASH) == margin(LimitsSegment.ALL, product=LimitsProduct.MIS) > 0
    assert margin(LimitsSegment.CUR) == 0 == margin(LimitsSegment.ALL, exchange=LimitsExchange.BSE)
    assert margin(LimitsSegment.ALL, product=LimitsProduct.CNC) == 0


def test_holdings_are_valued_at_the_market(paper_market, paper_account):
    PaperHolding.objects.create(account=paper_account, instrument=instrument("RELIANCE"), quantity=40,
                                average_price=Decimal("1380"))
    market.market_advance(to=ist(PAPER_START_DAY, 14, 0))
    reliance = instrument("RELIANCE")

    [holding] = adapter(paper_account).holdings()

    assert holding.last_price == reliance.last_price and holding.close_price == reliance.close_price
    assert holding.pnl == (reliance.last_price - 1380) * 40
    assert holding.day_change == reliance.last_price - reliance.close_price
