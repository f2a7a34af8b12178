"""Placing, modifying, cancelling and reconciling orders on any broker, without losing or doubling one.

An order is saved (PENDING) and committed before the broker hears of it, with
a tag unique to it. A broker refusal saves REJECTED with the reason; a broker
that does not answer leaves it UNKNOWN, and reconciliation finds it in the
broker's order book by its tag — so a retry never places a second order.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from dataclasses import replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from brokers.adapters.base import (
    BrokerError,
    BrokerOrderRejected,
    BrokerSessionExpired,
)
from brokers.adapters.registry import adapter_for
from brokers.calendar import IST, next_trading_day
from brokers.domain import (
    FINAL_ORDER_STATUSES,
    BrokerOrder,
    InstrumentSpec,
    ConnectionStatus,
    Fill,
    OrderChange,
    OrderProgress,
    OrderRequest,
    OrderStatus,
)
from brokers.models import BrokerConnection
from brokers.services import connection_call_wait, connection_expire
from budhitrade.errors import Conflict, InvalidInput, ServiceError
from budhitrade.publish import group_push, publisher
from budhitrade.throttle import ThrottleTimeout, throttle_wait
from orders.models import Order, OrderEvent, Trade

logger = logging.getLogger("budhitrade.orders")
OPEN_STATUSES = (OrderStatus.OPEN, OrderStatus.TRIGGER_PENDING)
# An UNKNOWN order the broker's book still does not show after this long was never placed.
UNKNOWN_GIVE_UP = timedelta(minutes=5)
# A finished order whose fills are not all recorded is looked for in the trade book for this long.
FILLS_LOOKBACK = timedelta(days=2)


class OrderRejected(ServiceError):
    """The broker refused the order; seed 004's error body carries the reason."""

    status_code = 400

    def extra_body(self) -> dict:
        return {"status": "error", "success": False, "error": self.detail}


class RateLimited(ServiceError):
    status_code = 429


def orders_group(connection_pk) -> str:
    return f"orders-{connection_pk}"


def _timestamp(moment) -> str | None:
    return moment.isoformat() if moment else None


def _publish(connection: BrokerConnection, payload: dict) -> None:
    group = orders_group(connection.pk)
    transaction.on_commit(lambda: group_push(group, {"type": "order.event", "payload": payload}))


def _publish_order(order: Order) -> None:
    _publish(order.connection, {
        "type": "order_update", "account_id": order.connection.account_id, "order_id": order.order_id,
        "status": order.status, "filled_quantity": order.filled_quantity,
        "average_price": float(round(order.average_price, 2)), "status_message": order.status_message,
        "timestamp": _timestamp(order.exchange_timestamp or timezone.now()), "tag": order.tag,
    })


def _event(order: Order, *, source: str, message: str = "") -> None:
    OrderEvent.objects.create(order=order, status=order.status, filled_quantity=order.filled_quantity,
                              average_price=order.average_price, message=message or order.status_message,
                              source=source)
    _publish_order(order)


def _new_broker_tag() -> str:
    # Kite takes up to 20 alphanumerics; Kotak refuses a tag it has seen, so each order has its own.
    return "bt" + secrets.token_hex(9)


def _order_rate_wait(connection: BrokerConnection) -> None:
    """Kite: 10 orders a second, 400 a minute, 5,000 a day per account; Kotak: 10 a second. Paced, not failed."""
    for calls, seconds in settings.BROKER_ORDER_RATE_LIMITS.get(connection.broker, ()):
        try:
            throttle_wait(key=f"broker-orders:{connection.pk}:{seconds}", limit=calls, window_seconds=seconds,
                          max_wait_seconds=2.0)
        except ThrottleTimeout as error:
            raise RateLimited(f"The broker allows {calls} orders per {seconds} s on this account; "
                              "try again later.") from error


def _ensure_connected(connection: BrokerConnection) -> None:
    if connection.status != ConnectionStatus.CONNECTED:
        raise Conflict(f"This account is not connected (status: {connection.status}); reconnect it first.")


# Lot and tick sizes of instruments orders were checked against, per process: (broker, exchange, symbol) ->
# (good until, spec). Only known instruments are kept, so a new listing is seen at once; one that is
# delisted within the minute is still refused by the broker itself.
_SPECS: dict[tuple[str, str, str], tuple[float, InstrumentSpec]] = {}
SPEC_CACHE_SECONDS = 60


def _instrument_spec(connection: BrokerConnection, exchange: str, tradingsymbol: str) -> InstrumentSpec | None:
    key = (connection.broker, exchange, tradingsymbol)
    cached = _SPECS.get(key)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    spec = adapter_for(connection).instrument_spec(exchange=exchange, tradingsymbol=tradingsymbol)
    if spec is not None and spec.known:
        _SPECS[key] = (time.monotonic() + SPEC_CACHE_SECONDS, spec)
    return spec


def order_validate(*, connection: BrokerConnection, request: OrderRequest) -> None:
    """Checks the broker would make anyway, where BudhiTrade knows the instrument: listed, orderable (not an
    index), lot size and tick size."""
    spec = _instrument_spec(connection, request.exchange, request.tradingsymbol)
    if spec is None:
        return
    if not spec.known:
        raise InvalidInput(f"Unknown instrument {request.exchange}:{request.tradingsymbol}.",
                           errors={"tradingsymbol": ["Unknown instrument."]})
    if not spec.orderable:
        raise InvalidInput(f"{request.exchange}:{request.tradingsymbol} is an index: it can be quoted, not ordered.",
                           errors={"tradingsymbol": [f"{request.exchange}:{request.tradingsymbol} cannot be ordered."]})
    errors = {}
    if spec.lot_size > 1 and request.quantity % spec.lot_size:
        errors["quantity"] = [f"Must be a multiple of the lot size {spec.lot_size}."]
    for name in ("price", "trigger_price"):
        value = getattr(request, name)
        if value and spec.tick_size > 0 and value % spec.tick_size:
            errors[name] = [f"Must be a multiple of the tick size {spec.tick_size}."]
    if errors:
        raise InvalidInput("; ".join(f"{name}: {messages[0]}" for name, messages in errors.items()), errors=errors)


def _fail(order: Order, status: OrderStatus, message: str, source: str = "broker") -> bool:
    """Record a failure on the order, unless it has moved on from the status the caller saw (a broker's update
    got there first, and it knows better); False then, with the order refreshed."""
    moved = not Order.objects.filter(pk=order.pk, status=order.status).update(
        status=status, status_message=message,
        pending_quantity=0 if status in FINAL_ORDER_STATUSES else order.quantity,
        cancelled_quantity=F("quantity") - F("filled_quantity") if status == OrderStatus.CANCELLED else 0)
    order.refresh_from_db()
    if not moved:
        _event(order, source=source, message=message)
    return not moved


def _rejected(order: Order, reason: str) -> OrderRejected:
    """The broker's refusal of a saved order, to raise: seed 004's error body, naming the order."""
    rejected = OrderRejected(reason)
    rejected.order = order
    return rejected


def _not_sent(order: Order, error: Exception, detail: str) -> None:
    """The order never reached the broker: REJECTED, saying why; the error carries the order."""
    _fail(order, OrderStatus.REJECTED, f"Not sent: {detail}")
    error.order = order


def order_place(*, connection: BrokerConnection, request: OrderRequest, idempotency_key: str = "",
                batch_id: uuid.UUID | None = None) -> Order:
    """Save the order, then send it; the saved order always tells what happened.

    Only what fails before the request leaves (the pacing, the budget, a
    refused session) is "Not sent"; any other failure of the call may have
    reached the broker, so the order stays UNKNOWN until its book says.
    """
    _ensure_connected(connection)
    order_validate(connection=connection, request=request)
    with transaction.atomic():  # the order and its first event in one commit
        order = Order.objects.create(
            connection=connection, tradingsymbol=request.tradingsymbol, exchange=request.exchange,
            transaction_type=request.transaction_type, order_type=request.order_type, product=request.product,
            variety=request.variety, quantity=request.quantity, price=request.price,
            trigger_price=request.trigger_price, disclosed_quantity=request.disclosed_quantity,
            validity=request.validity, tag=request.tag, broker_tag=_new_broker_tag(),
            pending_quantity=request.quantity, order_timestamp=timezone.now(), idempotency_key=idempotency_key,
            batch_id=batch_id)
        _event(order, source="user", message="Order received")
    try:
        _order_rate_wait(connection)
        connection_call_wait(connection=connection)
    except ServiceError as error:
        _not_sent(order, error, error.detail)
        raise
    except Exception as error:  # e.g. Redis down: nothing was sent
        _not_sent(order, error, "BudhiTrade could not take the broker's call budget.")
        raise
    try:
        broker_order_id = adapter_for(connection).order_place(replace(request, tag=order.broker_tag))
    except BrokerOrderRejected as error:
        _fail(order, OrderStatus.REJECTED, error.detail)
        logger.info("order_rejected", extra={"account_id": connection.account_id, "order": str(order.pk),
                                             "reason": error.detail})
        raise _rejected(order, error.detail) from error
    except BrokerSessionExpired as error:  # the broker refused the session: it took no order
        _not_sent(order, error, error.detail)
        connection_expire(connection=connection, reason=error.detail)
        raise
    except Exception as error:  # timeout, dropped connection, unreadable answer: it may be at the broker
        detail = error.detail if isinstance(error, BrokerError) else "BudhiTrade could not read the answer"
        if not _fail(order, OrderStatus.UNKNOWN, f"Sent; the broker did not answer ({detail}). Reconciling."):
            # the broker's own update already told what became of it
            if order.status == OrderStatus.REJECTED:
                raise _rejected(order, order.status_message or "The broker rejected the order.") from error
            return order
        logger.warning("order_unknown", extra={"account_id": connection.account_id, "order": str(order.pk)})
        error.order = order
        raise
    # The broker's own update may already have moved it on (a paper fill is announced during the call).
    with transaction.atomic():
        if Order.objects.filter(pk=order.pk, status=OrderStatus.PENDING).update(
                status=OrderStatus.OPEN, broker_order_id=broker_order_id):
            order.status, order.broker_order_id = OrderStatus.OPEN, broker_order_id
            _event(order, source="broker", message="Order placed")
    if order.status != OrderStatus.OPEN:
        Order.objects.filter(pk=order.pk).update(broker_order_id=broker_order_id)
        order.refresh_from_db()
    logger.info("order_placed", extra={"account_id": connection.account_id, "order": str(order.pk),
                                       "broker_order_id": broker_order_id})
    return order


def _known_status(reported: str, current: str) -> str:
    """The broker's status where BudhiTrade knows it; else the order keeps its own (the adapter logged the
    unknown value when it read it)."""
    return reported if reported in OrderStatus.values else current


@transaction.atomic
def order_apply(*, order: Order, state: BrokerOrder, fills: list[Fill], source: str) -> bool:
    """Bring the stored order up to the broker's state and record new fills; True when anything changed.

    Quantities are the broker's: pending as it says, and a cancelled order
    keeps the amount cancelled. A status BudhiTrade does not know keeps the
    order's own, while the rest of the broker's state is recorded.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    new_fills = [fill for fill in fills if not order.trades.filter(trade_id=fill.trade_id).exists()]
    Trade.objects.bulk_create(
        Trade(order=order, trade_id=fill.trade_id, quantity=fill.quantity, price=fill.price,
              exchange_order_id=fill.exchange_order_id, fill_timestamp=fill.fill_timestamp,
              exchange_timestamp=fill.exchange_timestamp)
        for fill in new_fills)
    if new_fills:
        from orders.tasks import position_refresh_task

        transaction.on_commit(lambda: position_refresh_task.delay(str(order.connection_id), order.tradingsymbol))
    before = (order.status, order.filled_quantity, order.status_message)
    status = _known_status(state.status, order.status)
    if ((order.status in FINAL_ORDER_STATUSES and (status not in FINAL_ORDER_STATUSES or status != state.status))
            or state.filled_quantity < order.filled_quantity):
        # A late, older snapshot never reopens a finished order nor takes back a fill; a status BudhiTrade does
        # not know yet leaves a finished order as it is.
        return bool(new_fills)
    order.status = status
    order.broker_order_id = order.broker_order_id or state.broker_order_id
    order.exchange_order_id = state.exchange_order_id or order.exchange_order_id
    order.filled_quantity = state.filled_quantity
    order.pending_quantity = state.pending_quantity
    order.cancelled_quantity = state.cancelled_quantity
    order.average_price = state.average_price
    order.status_message = state.status_message
    order.quantity, order.price, order.trigger_price = state.quantity, state.price or order.price, state.trigger_price or order.trigger_price
    order.order_type = state.order_type
    order.disclosed_quantity = state.disclosed_quantity or order.disclosed_quantity
    order.validity_ttl = state.validity_ttl if state.validity_ttl is not None else order.validity_ttl
    order.exchange_timestamp = state.exchange_timestamp or order.exchange_timestamp
    order.exchange_update_timestamp = state.exchange_update_timestamp or order.exchange_update_timestamp
    changed = (order.status, order.filled_quantity, order.status_message) != before
    order.save()
    if changed:
        _event(order, source=source)
    return changed or bool(new_fills)


def position_refresh(*, connection: BrokerConnection, tradingsymbol: str) -> None:
    """After a fill: sync the account, then tell subscribers the position (seed 004's position_update)."""
    from portfolio.models import Position
    from portfolio.services import account_sync

    try:
        account_sync(connection=connection, force=True)
    except (BrokerError, ServiceError) as error:
        logger.warning("position_refresh_failed", extra={"account_id": connection.account_id, "reason": error.detail})
        return
    for position in Position.objects.filter(connection=connection, tradingsymbol=tradingsymbol):
        publisher.send(orders_group(connection.pk), {"type": "order.event", "payload": {
            "type": "position_update", "account_id": connection.account_id, "tradingsymbol": tradingsymbol,
            "product": position.product, "quantity": position.quantity, "pnl": None if position.pnl is None else float(position.pnl),
            "timestamp": timezone.now().isoformat()}}, wait=True)


def _open_order(order: Order) -> None:
    if order.status not in OPEN_STATUSES:
        raise Conflict(f"The order is {order.status}; only open orders can be changed or cancelled.")


def order_refresh(*, order: Order, source: str = "broker") -> Order:
    """Ask the broker for the order's state and fills now."""
    adapter = adapter_for(order.connection)
    connection_call_wait(connection=order.connection)
    book = adapter.orders()
    state = next((o for o in book if o.broker_order_id == order.broker_order_id
                  or (o.tag and o.tag == order.broker_tag)), None)
    if state is not None:
        fills = [f for f in adapter.trades() if f.broker_order_id == state.broker_order_id]
        order_apply(order=order, state=state, fills=fills, source=source)
    order.refresh_from_db()
    return order


def order_modify(*, order: Order, change: OrderChange) -> Order:
    """Change an open order at the broker (Kite allows 25 modifications of one order)."""
    _ensure_connected(order.connection)
    _open_order(order)
    limit = settings.BROKER_MODIFICATIONS_PER_ORDER.get(order.connection.broker)
    if limit and order.events.filter(source="modify").count() >= limit:
        raise RateLimited(f"The broker allows {limit} modifications of one order.")
    request = OrderRequest(tradingsymbol=order.tradingsymbol, exchange=order.exchange,
                           transaction_type=order.transaction_type, order_type=change.order_type or order.order_type,
                           product=order.product, quantity=change.quantity or order.quantity,
                           price=change.price if change.price is not None else order.price,
                           trigger_price=change.trigger_price if change.trigger_price is not None else order.trigger_price)
    order_validate(connection=order.connection, request=request)
    connection_call_wait(connection=order.connection)
    OrderEvent.objects.create(order=order, status=order.status, filled_quantity=order.filled_quantity,
                              average_price=order.average_price, message=f"Modify: {_describe(change)}",
                              source="modify")
    try:
        adapter_for(order.connection).order_modify(order.broker_order_id, change, variety=order.variety)
    except BrokerSessionExpired as error:
        connection_expire(connection=order.connection, reason=error.detail)
        raise
    except BrokerOrderRejected as error:
        OrderEvent.objects.create(order=order, status=order.status, filled_quantity=order.filled_quantity,
                                  average_price=order.average_price, message=f"Modify refused: {error.detail}",
                                  source="broker")
        raise OrderRejected(error.detail) from error
    logger.info("order_modified", extra={"account_id": order.connection.account_id, "order": str(order.pk)})
    return order_refresh(order=order)


def _describe(change: OrderChange) -> str:
    return ", ".join(f"{name} {value}" for name, value in vars(change).items() if value is not None)


def order_cancel(*, order: Order) -> Order:
    """Cancel an open order at the broker."""
    _ensure_connected(order.connection)
    _open_order(order)
    connection_call_wait(connection=order.connection)
    try:
        adapter_for(order.connection).order_cancel(order.broker_order_id, variety=order.variety)
    except BrokerSessionExpired as error:
        connection_expire(connection=order.connection, reason=error.detail)
        raise
    except BrokerOrderRejected as error:
        raise OrderRejected(error.detail) from error
    logger.info("order_cancelled", extra={"account_id": order.connection.account_id, "order": str(order.pk)})
    return order_refresh(order=order)


def order_progress_apply(*, connection: BrokerConnection, progress: OrderProgress, source: str = "feed") -> bool:
    """A broker's pushed progress update (its order feed): status, fills and average price move; new fills are fetched by a reconcile.

    A status BudhiTrade does not know keeps the order's own; the quantities are recorded. An update that
    reports fewer fills than are recorded arrived late and changes nothing.
    """
    from orders.tasks import order_reconcile_task

    with transaction.atomic():
        order = (Order.objects.select_for_update().filter(connection=connection,
                                                          broker_order_id=progress.broker_order_id).first())
        if order is None:  # not yet known by the broker's id (its answer may still be on the way): look it up
            transaction.on_commit(lambda: order_reconcile_task.delay(str(connection.pk)))
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
        _event(order, source=source)
        if filled_more:
            transaction.on_commit(lambda: order_reconcile_task.delay(str(connection.pk)))
    return True


def orders_to_reconcile():
    """Orders a broker's books can still tell more about: every unfinished one, and a recently finished one whose
    recorded fills fall short of its filled quantity (a postback or feed update finished it)."""
    recent = timezone.now() - FILLS_LOOKBACK
    return (Order.objects.annotate(traded=Coalesce(Sum("trades__quantity"), 0))
            .filter(~Q(status__in=FINAL_ORDER_STATUSES)
                    | Q(created_at__gte=recent, filled_quantity__gt=F("traded"))))


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
    for yet is found by its tag.

    When the book does not show an order: one still UNKNOWN (or PENDING)
    after UNKNOWN_GIVE_UP was never placed and becomes REJECTED; an open one
    whose trading day is over has expired with it and becomes CANCELLED.
    Returns how many orders changed.
    """
    orders = list(orders_to_reconcile().filter(connection=connection).select_related("connection"))
    if not orders or connection.status != ConnectionStatus.CONNECTED:
        return 0
    adapter = adapter_for(connection)
    connection_call_wait(connection=connection)
    book = adapter.orders()
    connection_call_wait(connection=connection)
    fills = adapter.trades()
    by_id = {o.broker_order_id: o for o in book}
    by_tag = {o.tag: o for o in book if o.tag}
    now = timezone.now()
    changed = 0
    for order in orders:
        state = by_id.get(order.broker_order_id) if order.broker_order_id else by_tag.get(order.broker_tag)
        if state is not None:
            order_fills = [f for f in fills if f.broker_order_id == state.broker_order_id]
            changed += order_apply(order=order, state=state, fills=order_fills, source="reconcile")
            if order.cancel_when_found:
                _cancel_found(order)
        elif order.status in (OrderStatus.UNKNOWN, OrderStatus.PENDING) and now - order.created_at > UNKNOWN_GIVE_UP:
            changed += _fail(order, OrderStatus.REJECTED, "The broker has no such order: it was never placed.",
                             "reconcile")
        elif order.status in OPEN_STATUSES and _trading_day_over(order, now):
            changed += _fail(order, OrderStatus.CANCELLED,
                             "Expired with its trading day: the broker's book no longer lists it.", "reconcile")
    return changed


def batch_place(*, connection: BrokerConnection, requests: list[OrderRequest], rollback_on_failure: bool,
                idempotency_key: str = "") -> tuple[uuid.UUID, list[tuple[OrderRequest, Order | None, str]]]:
    """Place orders in turn; on the first failure with rollback, cancel those already placed and stop.

    Returns the batch id and, per request, (request, order or None, error).
    """
    batch_id = uuid.uuid4()
    outcomes: list[tuple[OrderRequest, Order | None, str]] = []
    for index, request in enumerate(requests):
        try:
            order = order_place(connection=connection, request=request, idempotency_key=idempotency_key,
                                batch_id=batch_id)
            outcomes.append((request, order, ""))
        except ServiceError as error:
            outcomes.append((request, getattr(error, "order", None), error.detail))
            if rollback_on_failure:
                _roll_back(outcomes)
                outcomes += [(later, None, "Not sent: an earlier order of the batch failed")
                             for later in requests[index + 1:]]
                break
    logger.info("order_batch_placed", extra={"account_id": connection.account_id, "batch_id": str(batch_id),
                                             "orders": len(requests)})
    return batch_id, outcomes


def _roll_back(outcomes: list[tuple[OrderRequest, Order | None, str]]) -> None:
    """Cancel what the batch already placed; a filled order cannot be undone and says so.

    An order whose placement had no answer may still be at the broker: it is
    looked up first, cancelled if found open, and otherwise marked to be
    cancelled by the reconcile that finds it.
    """
    unanswered = [order for _, order, error in outcomes if order is not None and order.status == OrderStatus.UNKNOWN]
    if unanswered:
        Order.objects.filter(pk__in=[order.pk for order in unanswered]).update(cancel_when_found=True)
        try:
            order_reconcile(connection=unanswered[0].connection)
        except ServiceError as failure:
            logger.warning("order_reconcile_failed", extra={"account_id": unanswered[0].connection.account_id,
                                                             "reason": failure.detail})
    for position, (request, order, error) in enumerate(outcomes):
        if order is None:
            continue
        order.refresh_from_db()
        if order.status in OPEN_STATUSES:
            try:
                order_cancel(order=order)
                note = "Rolled back: cancelled"
            except ServiceError as failure:
                note = f"Roll-back failed: {failure.detail}"
            outcomes[position] = (request, order, f"{error}; {note}" if error else note)
        elif order.status == OrderStatus.UNKNOWN:
            outcomes[position] = (request, order, f"{error}; roll-back pending: BudhiTrade cancels it as soon as "
                                                  "the broker's book shows it")
        elif error and order.cancel_when_found and order.status == OrderStatus.CANCELLED:
            outcomes[position] = (request, order, f"{error}; found at the broker and rolled back: cancelled")
        elif not error:
            outcomes[position] = (request, order, f"Could not roll back: the order is already {order.status}")