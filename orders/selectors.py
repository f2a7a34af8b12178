"""Reads of stored orders and fills."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet

from brokers.models import BrokerConnection
from orders.models import Order, Trade


def order_list(*, connection: BrokerConnection, status: str | None = None) -> QuerySet[Order]:
    orders = Order.objects.filter(connection=connection).order_by("-created_at")
    return orders.filter(status=status) if status else orders


def order_get(*, connection: BrokerConnection, order_id: str) -> Order | None:
    """By the broker's order id, or BudhiTrade's own id before the broker gave one."""
    match = Q(broker_order_id=order_id)
    try:
        match |= Q(pk=uuid.UUID(order_id))
    except ValueError:
        pass
    return Order.objects.filter(match, connection=connection).select_related("connection").first()


def trade_list(*, connection: BrokerConnection, order: Order | None = None) -> QuerySet[Trade]:
    trades = Trade.objects.filter(order__connection=connection).select_related("order").order_by("-fill_timestamp", "-id")
    return trades.filter(order=order) if order else trades
