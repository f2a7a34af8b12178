"""A batch of orders placed in turn; with roll-back, the first failure cancels what the batch already placed."""

from __future__ import annotations

import logging
import uuid

from brokers.domain import OrderRequest, OrderStatus
from brokers.models import BrokerConnection
from budhitrade.errors import ServiceError
from orders.lifecycle import OPEN_STATUSES
from orders.models import Order
from orders.reconcile import order_reconcile
from orders.services import order_cancel, order_place

logger = logging.getLogger("budhitrade.orders")


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