"""Reconciling stored orders with the broker's order and trade books: the orders a broker can still tell more of.

A reconcile is asked for through `orders.jobs.reconcile_request`, which
coalesces the asks of one account; the idempotency replay and a batch's
roll-back call `order_reconcile` themselves, as their answer waits on it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db.models import F, Q
from django.utils import timezone

from brokers.adapters.registry import ADAPTERS, adapter_for
from brokers.calendar import IST, next_trading_day
from brokers.domain import FINAL_ORDER_STATUSES, BrokerOrder, ConnectionStatus, OrderStatus
from brokers.models import BrokerConnection
from brokers.services import connection_call_wait
from budhitrade.errors import ServiceError
from orders.lifecycle import OPEN_STATUSES, fills_follow_apart, order_apply, order_fail, order_fills_missing
from orders.models import Order
from orders.services import order_cancel

logger = logging.getLogger("budhitrade.orders")
# An UNKNOWN order the broker's book still does not show after this long was never placed.
UNKNOWN_GIVE_UP = timedelta(minutes=5)
# A finished order whose fills are not all recorded is looked for in the trade book for this long.
FILLS_LOOKBACK = timedelta(days=2)
IN_FLIGHT = (OrderStatus.PENDING, OrderStatus.UNKNOWN)


def _left_in_flight() -> Q:
    """Orders a call never settled (a process that died mid-call, an answer lost): every broker's books may
    hold them, found by tag."""
    return Q(status__in=IN_FLIGHT)


def _unfinished() -> Q:
    return ~Q(status__in=FINAL_ORDER_STATUSES)


def _books_know_more() -> Q:
    """Every unfinished order, and a recently finished one whose recorded fills fall short of its filled quantity
    (a postback or feed update finished it)."""
    return (_unfinished()
            | Q(created_at__gte=timezone.now() - FILLS_LOOKBACK, filled_quantity__gt=F("traded_quantity")))


def orders_to_reconcile(*, connection: BrokerConnection):
    """The account's orders its broker's books can still tell more about: every unfinished one, and, unless the
    broker's pushes carry every change (fills included), finished ones whose fills are not all recorded."""
    wanted = _books_know_more() if fills_follow_apart(connection) else _unfinished()
    return Order.objects.filter(wanted, connection=connection)


def connections_to_reconcile() -> list:
    """The ids of connected accounts with orders_to_reconcile: two selections, each read through a partial index
    (one condition joined to the broker would read every order)."""
    connected = Order.objects.filter(connection__status=ConnectionStatus.CONNECTED).order_by()
    told_everything = [broker for broker, adapter in ADAPTERS.items() if adapter.pushes_every_change]
    ids = set(connected.filter(_left_in_flight()).values_list("connection_id", flat=True).distinct())
    ids |= set(connected.exclude(connection__broker__in=told_everything).filter(_books_know_more())
               .values_list("connection_id", flat=True).distinct())
    return sorted(ids, key=str)


def connections_to_backstop() -> list:
    """The ids of connected accounts, on brokers whose pushes carry every change, with unfinished orders: a push
    lost after the exchange's commit leaves one open here; read through the unfinished orders' partial index."""
    told_everything = [broker for broker, adapter in ADAPTERS.items() if adapter.pushes_every_change]
    unfinished = (Order.objects.filter(_unfinished(), connection__status=ConnectionStatus.CONNECTED,
                                       connection__broker__in=told_everything).order_by())
    return sorted(set(unfinished.values_list("connection_id", flat=True).distinct()), key=str)


def _as_booked(order: Order, state: BrokerOrder) -> bool:
    """Whether the stored order already says what the book says, its fills all recorded: applying would change
    nothing, so its row lock is not taken (2,000 resting orders cost the two reads, not 2,000 locks)."""
    return (order.broker_order_id == state.broker_order_id and order.status == state.status
            and order.filled_quantity == state.filled_quantity and order.pending_quantity == state.pending_quantity
            and order.cancelled_quantity == state.cancelled_quantity and order.quantity == state.quantity
            and order.average_price == state.average_price and order.status_message == state.status_message
            and order.order_type == state.order_type
            and (state.price or order.price) == order.price
            and (state.trigger_price or order.trigger_price) == order.trigger_price
            and (state.exchange_order_id or order.exchange_order_id) == order.exchange_order_id
            and not order_fills_missing(order=order, state=state))


def _cancel_found(order: Order) -> None:
    """Cancel an order of a rolled-back batch that the broker's book has now shown, if it is still open."""
    order.refresh_from_db()
    if order.status not in OPEN_STATUSES:
        return
    try:
        order_cancel(order=order)
    except ServiceError as failure:
        logger.warning("order_rollback_cancel_failed", extra={"account_id": order.connection.account_id,
                                                              "order": str(order.pk), "reason": failure.detail})


def _trading_day_over(order: Order, now) -> bool:
    """Whether the session the order was for has ended (an after-market order is for the next one)."""
    placed = order.order_timestamp.astimezone(IST).date()
    session_day = next_trading_day(placed) if order.variety == "amo" else placed
    return now.astimezone(IST).date() > session_day


def order_reconcile(*, connection: BrokerConnection) -> int:
    """Bring the account's orders up to the broker's books (see orders_to_reconcile); one the broker has no id
    for yet is found by its tag. The trade book is read only when the order book shows fills not recorded.

    When the book does not show an order: one still UNKNOWN (or PENDING)
    after UNKNOWN_GIVE_UP was never placed and becomes REJECTED; an open one
    whose trading day is over has expired with it and becomes CANCELLED.
    An order the book shows as it is stored is left alone (no row lock).
    Returns how many orders changed.
    """
    if connection.status != ConnectionStatus.CONNECTED:
        return 0
    orders = list(orders_to_reconcile(connection=connection).select_related("connection"))
    if not orders:
        return 0
    adapter = adapter_for(connection)
    connection_call_wait(connection=connection)
    book = adapter.orders()
    by_id = {o.broker_order_id: o for o in book}
    by_tag = {o.tag: o for o in book if o.tag}
    found = [(order, by_id.get(order.broker_order_id) if order.broker_order_id else by_tag.get(order.broker_tag))
             for order in orders]
    fills = []
    if any(state is not None and order_fills_missing(order=order, state=state) for order, state in found):
        connection_call_wait(connection=connection)
        fills = adapter.trades()
    now = timezone.now()
    changed = 0
    for order, state in found:
        if state is not None:
            if not _as_booked(order, state):
                order_fills = [f for f in fills if f.broker_order_id == state.broker_order_id]
                changed += order_apply(order=order, state=state, fills=order_fills, source="reconcile")
            if order.cancel_when_found:
                _cancel_found(order)
        elif order.status in IN_FLIGHT and now - order.created_at > UNKNOWN_GIVE_UP:
            changed += order_fail(order, OrderStatus.REJECTED, "The broker has no such order: it was never placed.",
                                  "reconcile")
        elif order.status in OPEN_STATUSES and _trading_day_over(order, now):
            changed += order_fail(order, OrderStatus.CANCELLED,
                                  "Expired with its trading day: the broker's book no longer lists it.", "reconcile")
    return changed
