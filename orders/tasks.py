"""Periodic order jobs; each only calls a service."""

from __future__ import annotations

import logging

from celery import shared_task

from brokers.adapters.base import BrokerError
from brokers.models import BrokerConnection
from budhitrade.errors import ServiceError
from orders import services
from orders.models import Order

logger = logging.getLogger("budhitrade.orders")


@shared_task
def order_reconcile_due_task() -> int:
    """Queue a reconcile for every connected account with orders its broker can tell more about (Kite, Neo and
    paper alike): unfinished ones, and finished ones whose fills are not all recorded."""
    ids = list(Order.objects.filter(pk__in=services.orders_to_reconcile().values("pk"),
                                    connection__status="connected")
               .values_list("connection_id", flat=True).distinct())
    for connection_id in ids:
        order_reconcile_task.delay(str(connection_id))
    return len(ids)


@shared_task(ignore_result=True)
def order_reconcile_task(connection_id: str) -> None:
    """Bring one account's unfinished orders up to its broker's order book."""
    connection = BrokerConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return
    try:
        services.order_reconcile(connection=connection)
    except (BrokerError, ServiceError) as error:
        logger.info("order_reconcile_failed", extra={"account_id": connection.account_id, "reason": error.detail})


@shared_task(ignore_result=True)
def position_refresh_task(connection_id: str, tradingsymbol: str) -> None:
    """After a fill, off the request and the market loop: sync the account and push the position."""
    connection = BrokerConnection.objects.filter(pk=connection_id).first()
    if connection is not None:
        services.position_refresh(connection=connection, tradingsymbol=tradingsymbol)
