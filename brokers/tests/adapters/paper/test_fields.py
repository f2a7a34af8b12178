"""What the paper adapter reports beyond the seed shapes: token, market value and cost, realised and unrealised
P&L, cancelled and disclosed quantities, fill times."""

from datetime import timedelta
from decimal import Decimal

import pytest

from brokers.adapters.paper.adapter import PaperAdapter
from brokers.domain import OrderRequest
from brokers.paper import ledger, market
from brokers.paper.models import PaperInstrument
from brokers.tests.fixtures import PAPER_START_DAY, ist

pytestmark = pytest.mark.django_db


@pytest.fixture
def adapter(paper_market, paper_account) -> PaperAdapter:
    return PaperAdapter(credentials={}, session={}, account_id=paper_account.account_id)


def fill(adapter, symbol, side, quantity, product, price):
    ledger.ledger_fill(account_id=adapter.account_id, instrument=PaperInstrument.objects.get(tradingsymbol=symbol),
                       side=side, quantity=quantity, price=Decimal(price), product=product)


def test_holdings_carry_token_sellable_shares_market_value_and_cost(adapter):
    fill(adapter, "INFY", "BUY", 10, "CNC", "1500")
    market.market_advance(to=ist(PAPER_START_DAY + timedelta(days=1), 9, 15))

    [holding] = adapter.holdings()

    infy = PaperInstrument.objects.get(tradingsymbol="INFY")
    assert (holding.instrument_token, holding.sellable_quantity, holding.t1_quantity) == (str(infy.token), 10, 0)
    assert holding.holding_cost == Decimal("15000.00")
    assert holding.market_value == (infy.last_price * 10).quantize(Decimal("0.01"))
    assert holding.pnl == holding.market_value - holding.holding_cost


def test_positions_split_their_pnl_into_realised_and_unrealised(adapter):
    fill(adapter, "SBIN", "BUY", 100, "MIS", "950")
    fill(adapter, "SBIN", "SELL", 40, "MIS", "960")

    [position] = adapter.positions()

    last = PaperInstrument.objects.get(tradingsymbol="SBIN").last_price
    assert position.realised == Decimal("400.00")  # 40 sold 10 above their cost
    assert position.unrealised == (60 * (last - Decimal("950"))).quantize(Decimal("0.01"))
    assert position.pnl == position.realised + position.unrealised and position.multiplier == 1


def test_orders_and_fills_carry_cancelled_and_disclosed_quantities_and_exchange_times(adapter):
    below = PaperInstrument.objects.get(tradingsymbol="ITC").last_price - 20
    resting = adapter.order_place(OrderRequest(tradingsymbol="ITC", exchange="NSE", transaction_type="BUY",
                                               order_type="LIMIT", product="CNC", quantity=50, price=below,
                                               disclosed_quantity=10))
    adapter.order_cancel(resting)
    adapter.order_place(OrderRequest(tradingsymbol="ITC", exchange="NSE", transaction_type="BUY",
                                     order_type="MARKET", product="CNC", quantity=5))

    cancelled = next(order for order in adapter.orders() if order.broker_order_id == resting)
    [trade] = adapter.trades()

    assert (cancelled.status, cancelled.cancelled_quantity, cancelled.disclosed_quantity) == ("CANCELLED", 50, 10)
    assert cancelled.pending_quantity == 0 and cancelled.exchange_update_timestamp == ist(PAPER_START_DAY, 9, 15)
    assert trade.exchange_timestamp == trade.fill_timestamp == ist(PAPER_START_DAY, 9, 15)
