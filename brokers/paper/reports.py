"""The paper exchange's orders and fills in BudhiTrade's domain terms: what its book answers and what it announces."""

from __future__ import annotations

from decimal import Decimal

from brokers.domain import BrokerOrder, Fill, OrderStatus
from brokers.paper.models import PaperOrder, PaperTrade

CENT = Decimal("0.01")


def order_report(row: PaperOrder) -> BrokerOrder:
    """One order of the paper book at its latest state."""
    cancelled = row.quantity - row.filled_quantity if row.status == OrderStatus.CANCELLED else 0
    return BrokerOrder(
        broker_order_id=row.order_id, status=OrderStatus(row.status), tradingsymbol=row.instrument.tradingsymbol,
        exchange=row.instrument.exchange, transaction_type=row.transaction_type, order_type=row.order_type,
        product=row.product, quantity=row.quantity, filled_quantity=row.filled_quantity,
        pending_quantity=row.pending_quantity, price=row.price, trigger_price=row.trigger_price,
        average_price=row.average_price.quantize(CENT), status_message=row.status_message, tag=row.tag,
        exchange_order_id=row.exchange_order_id, variety=row.variety, validity=row.validity,
        order_timestamp=row.order_timestamp, exchange_timestamp=row.exchange_timestamp,
        cancelled_quantity=cancelled, disclosed_quantity=row.disclosed_quantity,
        exchange_update_timestamp=row.exchange_timestamp)


def fill_report(row: PaperTrade) -> Fill:
    """One fill of a paper order; the exchange's clock stamps it."""
    order = row.order
    return Fill(
        trade_id=row.trade_id, broker_order_id=order.order_id, tradingsymbol=order.instrument.tradingsymbol,
        exchange=order.instrument.exchange, transaction_type=order.transaction_type, product=order.product,
        quantity=row.quantity, price=row.price, exchange_order_id=order.exchange_order_id, fill_timestamp=row.filled_at,
        exchange_timestamp=row.filled_at)
