"""Reads of stored orders and fills."""

from __future__ import annotations

import uuid

from django.db.models import CharField, F, Func, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf
from rest_framework import serializers

from brokers.models import BrokerConnection
from budhitrade.errors import InvalidInput, NotFound
from orders.models import Order, OrderEvent, Trade

# An order row's fields, in the order the order book sends them (orders.views.OrderOutputSerializer's).
ORDER_FIELDS = ("order_id", "exchange_order_id", "tradingsymbol", "exchange", "transaction_type", "order_type",
                "product", "variety", "validity", "quantity", "pending_quantity", "filled_quantity",
                "cancelled_quantity", "disclosed_quantity", "validity_ttl", "price", "trigger_price",
                "average_price", "status", "status_message", "tag", "order_timestamp", "exchange_timestamp",
                "exchange_update_timestamp")
ORDER_TIMES = ("order_timestamp", "exchange_timestamp", "exchange_update_timestamp")
# Renders a time as the serializers do (ISO 8601 in the current time zone, UTC as Z).
DRF_TIME = serializers.DateTimeField()


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


def order_require(*, connection: BrokerConnection, order_id: str) -> Order:
    """`order_get`'s order; NotFound (404) when the account has none by that id, another user's included."""
    order = order_get(connection=connection, order_id=order_id)
    if order is None:
        raise NotFound("No such order on this account.")
    return order


def order_rows(*, orders: QuerySet[Order]) -> list[dict]:
    """Each order as the order book sends it, from `values()` in one pass: 200 rows cost a fraction of 200
    serializers.

    The database names the columns (`order_id` too); Python renders what only it renders byte for byte as the
    serializer does: times in DRF's format, the average price rounded as a float to 2 places, money as floats.
    """
    rows = list(order_columns(orders, ORDER_FIELDS))
    for row in rows:
        row["average_price"] = round(float(row["average_price"]), 2)
        if row["price"] is not None:
            row["price"] = float(row["price"])
        if row["trigger_price"] is not None:
            row["trigger_price"] = float(row["trigger_price"])
        for name in ORDER_TIMES:
            if row[name] is not None:
                row[name] = DRF_TIME.to_representation(row[name])
    return rows


# A fill as the trade book sends it, with its order's columns. Trade's own `order_id` (the key) takes the name, so the
# rows are zipped from `values_list`.
TRADE_COLUMNS = {"trade_id": "trade_id", "order_id": order_id_column("order__"),
                 "exchange_order_id": "exchange_order_id", "tradingsymbol": "order__tradingsymbol",
                 "exchange": "order__exchange", "transaction_type": "order__transaction_type",
                 "product": "order__product", "quantity": "quantity", "price": "price",
                 "fill_timestamp": "fill_timestamp", "exchange_timestamp": "exchange_timestamp"}


def trade_rows(*, connection: BrokerConnection, order: Order | None = None, limit: int) -> list[dict]:
    """The account's fills as the trade book sends them (`TRADE_COLUMNS`), newest first, at most `limit`."""
    trades = [dict(zip(TRADE_COLUMNS, row)) for row in trade_list(connection=connection, order=order)
              .values_list(*TRADE_COLUMNS.values())[:limit]]
    for trade in trades:
        trade["price"] = float(trade["price"])
        for name in ("fill_timestamp", "exchange_timestamp"):
            if trade[name] is not None:
                trade[name] = trade[name].isoformat()
    return trades


def limit_parse(*, query_params, default: int) -> int:
    """A list's `?limit=`: 1 to 1000; InvalidInput (400) otherwise."""
    raw = query_params.get("limit", str(default))
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise InvalidInput("limit must be a whole number from 1 to 1000.")
    return int(raw)
