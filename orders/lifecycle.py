"""What the broker says becomes of an order: its state, its fills and its history, each change told to subscribers.

The broker's own word wins over what BudhiTrade guessed (a failure is
recorded only while the order is still in the state the caller saw), and a
late, older update never reopens a finished order nor takes back a fill.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from brokers.adapters.registry import adapter_class
from brokers.consumers import orders_group
from brokers.domain import FINAL_ORDER_STATUSES, BrokerOrder, Fill, OrderProgress, OrderStatus
from brokers.models import BrokerConnection
from budhitrade.publish import group_push
from orders.jobs import position_refresh_request, reconcile_request
from orders.models import Order, OrderEvent, Trade

OPEN_STATUSES = (OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING)


def _timestamp(moment) -> str | None:
    return moment.isoformat() if moment else None


def order_publish(connection: BrokerConnection, payload: dict) -> None:
    """Send a message to the account's order subscribers once the transaction commits."""
    group = orders_group(connection.pk)
    transaction.on_commit(lambda: group_push(group, {"type": "order.event", "payload": payload}))


def _publish_order(order: Order) -> None:
    order_publish(order.connection, {
        "type": "order_update", "account_id": order.connection.account_id, "order_id": order.order_id,
        "status": order.status, "filled_quantity": order.filled_quantity,
        "average_price": float(round(order.average_price, 2)), "status_message": order.status_message,
        "timestamp": _timestamp(order.exchange_timestamp or timezone.now()), "tag": order.tag,
    })


def order_event(order: Order, *, source: str, message: str = "") -> None:
    """Record the order's state in its history and tell subscribers."""
    OrderEvent.objects.create(order=order, status=order.status, filled_quantity=order.filled_quantity,
                              average_price=order.average_price, message=message or order.status_message,
                              source=source)
    _publish_order(order)


def order_fail(order: Order, status: OrderStatus, message: str, source: str = "broker") -> bool:
    """Record a failure on the order, unless it has moved on from the status the caller saw (a broker's update
    got there first, and it knows better); False then, with the order refreshed."""
    moved = not Order.objects.filter(pk=order.pk, status=order.status).update(
        status=status, status_message=message,
        pending_quantity=0 if status in FINAL_ORDER_STATUSES else order.quantity,
        cancelled_quantity=F("quantity") - F("filled_quantity") if status == OrderStatus.CANCELLED else 0)
    order.refresh_from_db()
    if not moved:
        order_event(order, source=source, message=message)
    return not moved


def _known_status(reported: str, current: str) -> str:
    """The broker's status where BudhiTrade knows it; else the order keeps its own (the adapter logged the
    unknown value when it read it)."""
    return reported if reported in OrderStatus.values else current


def fills_follow_apart(connection: BrokerConnection) -> bool:
    """Whether the broker's pushes can leave something out (fills sent apart, a missed update), so that its books
    must be read again; not where its pushes carry every change."""
    return not adapter_class(connection.broker).pushes_every_change


def reconcile_on_commit(connection: BrokerConnection) -> None:
    """Ask for the account's reconcile once the transaction commits (so it reads what this one wrote)."""
    connection_id = str(connection.pk)
    transaction.on_commit(lambda: reconcile_request(connection_id))


def _new_fills(order: Order, fills: list[Fill]) -> list[Fill]:
    """The fills not recorded yet, each once: one query for those already recorded."""
    if not fills:
        return []
    seen = set(order.trades.filter(trade_id__in=[fill.trade_id for fill in fills])
               .values_list("trade_id", flat=True))
    new = []
    for fill in fills:
        if fill.trade_id not in seen:
            seen.add(fill.trade_id)
            new.append(fill)
    return new


@transaction.atomic
def order_apply(*, order: Order, state: BrokerOrder, fills: list[Fill], source: str) -> bool:
    """Bring the stored order up to the broker's state and record new fills; True when anything changed.

    Quantities are the broker's: pending as it says, and a cancelled order
    keeps the amount cancelled. A status BudhiTrade does not know keeps the
    order's own, while the rest of the broker's state is recorded. The
    order's traded quantity (its recorded fills) moves with the fills, in the
    same transaction.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    new_fills = _new_fills(order, fills)
    if new_fills:
        Trade.objects.bulk_create(
            Trade(order=order, trade_id=fill.trade_id, quantity=fill.quantity, price=fill.price,
                  exchange_order_id=fill.exchange_order_id, fill_timestamp=fill.fill_timestamp,
                  exchange_timestamp=fill.exchange_timestamp)
            for fill in new_fills)
        order.traded_quantity += sum(fill.quantity for fill in new_fills)
        connection_id, tradingsymbol = order.connection_id, order.tradingsymbol
        transaction.on_commit(lambda: position_refresh_request(connection_id, tradingsymbol))
    before = (order.status, order.filled_quantity, order.status_message)
    status = _known_status(state.status, order.status)
    if ((order.status in FINAL_ORDER_STATUSES and (status not in FINAL_ORDER_STATUSES or status != state.status))
            or state.filled_quantity < order.filled_quantity):
        # A late, older snapshot never reopens a finished order nor takes back a fill; a status BudhiTrade does
        # not know yet leaves a finished order as it is.
        if new_fills:
            order.save(update_fields=["traded_quantity", "updated_at"])
        return bool(new_fills)
    order.status = status
    order.broker_order_id = order.broker_order_id or state.broker_order_id
    order.exchange_order_id = state.exchange_order_id or order.exchange_order_id
    order.filled_quantity = state.filled_quantity
    order.pending_quantity = state.pending_quantity
    order.cancelled_quantity = state.cancelled_quantity
    order.average_price = state.average_price
    order.status_message = state.status_message
    order.quantity = state.quantity
    order.price, order.trigger_price = state.price or order.price, state.trigger_price or order.trigger_price
    order.order_type = state.order_type
    order.disclosed_quantity = state.disclosed_quantity or order.disclosed_quantity
    order.validity_ttl = state.validity_ttl if state.validity_ttl is not None else order.validity_ttl
    order.exchange_timestamp = state.exchange_timestamp or order.exchange_timestamp
    order.exchange_update_timestamp = state.exchange_update_timestamp or order.exchange_update_timestamp
    changed = (order.status, order.filled_quantity, order.status_message) != before
    order.save()
    if changed:
        order_event(order, source=source)
    return changed or bool(new_fills)


def order_progress_apply(*, connection: BrokerConnection, progress: OrderProgress, source: str = "feed") -> bool:
    """A broker's pushed progress update (its order feed): status, fills and average price move; new fills are
    fetched by a reconcile, asked for once the update is committed.

    A status BudhiTrade does not know keeps the order's own; the quantities are recorded. An update that
    reports fewer fills than are recorded arrived late and changes nothing.
    """
    with transaction.atomic():
        order = (Order.objects.select_for_update().filter(connection=connection,
                                                          broker_order_id=progress.broker_order_id).first())
        if order is None:  # not yet known by the broker's id (its answer may still be on the way): look it up
            if fills_follow_apart(connection):
                reconcile_on_commit(connection)
            return False
        if order.status in FINAL_ORDER_STATUSES:
            return False
        if progress.filled_quantity < order.filled_quantity:
            return False  # an update older than one already applied: fills never go backwards
        filled_more = progress.filled_quantity > order.filled_quantity
        before = (order.status, order.filled_quantity, order.status_message)
        order.status = _known_status(progress.status, order.status)
        order.filled_quantity = progress.filled_quantity
        order.pending_quantity = progress.pending_quantity
        order.cancelled_quantity = max(progress.cancelled_quantity, order.cancelled_quantity)
        order.average_price = progress.average_price or order.average_price
        order.exchange_order_id = progress.exchange_order_id or order.exchange_order_id
        order.status_message = progress.status_message or order.status_message
        order.save()
        if (order.status, order.filled_quantity, order.status_message) == before:
            return False
        order_event(order, source=source)
        if filled_more and fills_follow_apart(connection):
            reconcile_on_commit(connection)
    return True


def order_fills_missing(*, order: Order, state: BrokerOrder) -> bool:
    """Whether the broker says more is filled than the order's recorded fills hold."""
    return state.filled_quantity > order.traded_quantity
