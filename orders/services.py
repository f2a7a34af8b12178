"""Placing, modifying and cancelling orders on any broker, without losing or doubling one.

An order is saved (PENDING) and committed before the broker hears of it, with
a tag unique to it. A broker refusal saves REJECTED with the reason; a broker
that does not answer leaves it UNKNOWN, and reconciliation (orders/reconcile.py)
finds it in the broker's order book by its tag — so a retry never places a
second order. What the broker then says of the order is applied by
orders/lifecycle.py; batches are orders/batches.py.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from dataclasses import replace

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from brokers.adapters.base import (
    BrokerAdapter,
    BrokerError,
    BrokerOrderRejected,
    BrokerSessionExpired,
)
from brokers.adapters.registry import adapter_for
from brokers.consumers import orders_group
from brokers.domain import (
    InstrumentSpec,
    ConnectionStatus,
    OrderChange,
    OrderRequest,
    OrderStatus,
)
from brokers.models import BrokerConnection
from brokers.services import connection_call_wait, connection_expire
from budhitrade.errors import Conflict, InvalidInput, ServiceError
from budhitrade.publish import publisher
from budhitrade.throttle import ThrottleTimeout, throttle_wait
from orders.lifecycle import OPEN_STATUSES, order_apply, order_event, order_fail, order_fills_missing
from orders.models import Order, OrderEvent

logger = logging.getLogger("budhitrade.orders")


class OrderRejected(ServiceError):
    """The broker refused the order; seed 004's error body carries the reason."""

    status_code = 400

    def extra_body(self) -> dict:
        return {"status": "error", "success": False, "error": self.detail}


class RateLimited(ServiceError):
    status_code = 429


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


def _rejected(order: Order, reason: str) -> OrderRejected:
    """The broker's refusal of a saved order, to raise: seed 004's error body, naming the order."""
    rejected = OrderRejected(reason)
    rejected.order = order
    return rejected


def _not_sent(order: Order, error: Exception, detail: str) -> None:
    """The order never reached the broker: REJECTED, saying why; the error carries the order."""
    order_fail(order, OrderStatus.REJECTED, f"Not sent: {detail}")
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
        order_event(order, source="user", message="Order received")
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
        order_fail(order, OrderStatus.REJECTED, error.detail)
        logger.info("order_rejected", extra={"account_id": connection.account_id, "order": str(order.pk),
                                             "reason": error.detail})
        raise _rejected(order, error.detail) from error
    except BrokerSessionExpired as error:  # the broker refused the session: it took no order
        _not_sent(order, error, error.detail)
        connection_expire(connection=connection, reason=error.detail)
        raise
    except Exception as error:  # timeout, dropped connection, unreadable answer: it may be at the broker
        detail = error.detail if isinstance(error, BrokerError) else "BudhiTrade could not read the answer"
        if not order_fail(order, OrderStatus.UNKNOWN, f"Sent; the broker did not answer ({detail}). Reconciling."):
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
            order_event(order, source="broker", message="Order placed")
    if order.status != OrderStatus.OPEN:
        Order.objects.filter(pk=order.pk).update(broker_order_id=broker_order_id)
        order.refresh_from_db()
    logger.info("order_placed", extra={"account_id": connection.account_id, "order": str(order.pk),
                                       "broker_order_id": broker_order_id})
    return order


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
    """Ask the broker for the order's state now, and its fills when the recorded ones fall short."""
    adapter = adapter_for(order.connection)
    connection_call_wait(connection=order.connection)
    book = adapter.orders()
    state = next((o for o in book if o.broker_order_id == order.broker_order_id
                  or (o.tag and o.tag == order.broker_tag)), None)
    if state is not None:
        fills = []
        if order_fills_missing(order=order, state=state):
            connection_call_wait(connection=order.connection)
            fills = [f for f in adapter.trades() if f.broker_order_id == state.broker_order_id]
        order_apply(order=order, state=state, fills=fills, source=source)
    order.refresh_from_db()
    return order


def _changed(order: Order, adapter: BrokerAdapter) -> Order:
    """The order after a modification or cancellation the broker took. Where its pushes carry every change, the
    push made during the call has already brought the stored order up to date: it is read back, not the broker's
    books (whose size grows with the account's resting orders)."""
    if adapter.pushes_every_change:
        order.refresh_from_db()
        return order
    return order_refresh(order=order)


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
    adapter = adapter_for(order.connection)
    try:
        adapter.order_modify(order.broker_order_id, change, variety=order.variety)
    except BrokerSessionExpired as error:
        connection_expire(connection=order.connection, reason=error.detail)
        raise
    except BrokerOrderRejected as error:
        OrderEvent.objects.create(order=order, status=order.status, filled_quantity=order.filled_quantity,
                                  average_price=order.average_price, message=f"Modify refused: {error.detail}",
                                  source="broker")
        raise OrderRejected(error.detail) from error
    logger.info("order_modified", extra={"account_id": order.connection.account_id, "order": str(order.pk)})
    return _changed(order, adapter)


def _describe(change: OrderChange) -> str:
    return ", ".join(f"{name} {value}" for name, value in vars(change).items() if value is not None)


def order_cancel(*, order: Order) -> Order:
    """Cancel an open order at the broker."""
    _ensure_connected(order.connection)
    _open_order(order)
    connection_call_wait(connection=order.connection)
    adapter = adapter_for(order.connection)
    try:
        adapter.order_cancel(order.broker_order_id, variety=order.variety)
    except BrokerSessionExpired as error:
        connection_expire(connection=order.connection, reason=error.detail)
        raise
    except BrokerOrderRejected as error:
        raise OrderRejected(error.detail) from error
    logger.info("order_cancelled", extra={"account_id": order.connection.account_id, "order": str(order.pk)})
    return _changed(order, adapter)
