"""Reads of stored orders and fills."""

from __future__ import annotations

import uuid

from django.db.models import CharField, F, Func, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf

from brokers.models import BrokerConnection
from orders.models import Order, OrderEvent, Trade


class UUIDText(Func):
    """A UUID column as `str(uuid)` spells it (PostgreSQL's uuid cast to text)."""

    output_field = CharField()
    template = "CAST(%(expressions)s AS text)"


def order_id_column(path: str = "") -> Coalesce:
    """`Order.order_id` in SQL (the broker's id once it has one, else BudhiTrade's), of the order at `path`."""
    return Coalesce(NullIf(F(f"{path}broker_order_id"), Value("")), UUIDText(F(f"{path}id")))


def order_list(*, connection: BrokerConnection, status: str | None = None) -> QuerySet[Order]:
    """The account's orders, newest first."""
    orders = Order.objects.filter(connection=connection).order_by("-created_at")
    return orders.filter(status=status) if status else orders


def order_columns(orders: QuerySet[Order], fields: tuple[str, ...]) -> QuerySet[dict]:
    """Rows of `fields`, in that order, straight from the database; `order_id` is a column like the others."""
    return orders.annotate(order_id=order_id_column()).values(*fields)


def _order_match(order_id: str) -> Q:
    match = Q(broker_order_id=order_id)
    try:
        match |= Q(pk=uuid.UUID(order_id))
    except ValueError:
        pass
    return match


def order_get(*, connection: BrokerConnection, order_id: str) -> Order | None:
    """By the broker's order id, or BudhiTrade's own id before the broker gave one."""
    return Order.objects.filter(_order_match(order_id), connection=connection).select_related("connection").first()


def order_find(*, connection: BrokerConnection, order_id: str) -> QuerySet[Order]:
    """`order_get`'s match as a queryset, newest first (its first row is `order_get`'s order), to read columns of."""
    return order_list(connection=connection).filter(_order_match(order_id))


def order_event_list(*, order: Order) -> QuerySet[OrderEvent]:
    """The order's history, oldest first."""
    return OrderEvent.objects.filter(order=order).order_by("at", "id")


def trade_list(*, connection: BrokerConnection, order: Order | None = None) -> QuerySet[Trade]:
    """The account's fills, newest first; the order's own columns are read through `order__`."""
    trades = Trade.objects.filter(order__connection=connection).order_by("-fill_timestamp", "-id")
    return trades.filter(order=order) if order else trades
