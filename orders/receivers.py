"""Order updates that brokers push: the paper exchange's own announcements."""

from __future__ import annotations

import logging

from django.dispatch import receiver

from brokers.adapters.paper.adapter import paper_order_to_domain, paper_trade_to_domain
from brokers.adapters.paper.engine import order_changed
from brokers.domain import OrderStatus
from orders import services
from orders.models import Order

logger = logging.getLogger("budhitrade.orders")


@receiver(order_changed, dispatch_uid="orders-paper-order-changed")
def paper_order_changed(sender, order, trades, **kwargs) -> None:
    """A paper order moved (accepted, filled, cancelled): bring BudhiTrade's copy along, found by its tag."""
    stored = Order.objects.filter(broker_tag=order.tag, connection__broker="paper").select_related("connection").first()
    if stored is None:
        return
    if stored.status == OrderStatus.PENDING and order.status == OrderStatus.OPEN and not trades:
        return  # accepted and resting: the placing call records that itself when the broker answers
    services.order_apply(order=stored, state=paper_order_to_domain(order),
                         fills=[paper_trade_to_domain(trade) for trade in trades], source="broker")
