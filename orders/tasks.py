"""Order jobs; each only calls a service. They are queued by name through orders/jobs.py."""

from __future__ import annotations

import logging

from celery import shared_task

from brokers.adapters.base import BrokerError
from brokers.models import BrokerConnection
from budhitrade.errors import ServiceError
from orders import jobs
from orders.reconcile import connections_to_backstop, connections_to_reconcile, order_reconcile
from orders.services import position_refresh

logger = logging.getLogger("budhitrade.orders")


@shared_task
def order_reconcile_due_task() -> int:
    """Ask for a reconcile of every connected account with orders its broker can tell more about: unfinished ones
    and finished ones whose fills are not all recorded, or, where the broker's pushes carry every change, those a
    call left PENDING or UNKNOWN, and, at most once per ORDER_RECONCILE_BACKSTOP_SECONDS, unfinished ones (a push
    lost after the exchange's commit). An account whose reconcile is queued already is not asked twice. Returns
    how many accounts were asked for."""
    ids = connections_to_reconcile()
    for connection_id in ids:
        jobs.reconcile_request(connection_id)
    asked = set(ids)
    for connection_id in connections_to_backstop():
        if connection_id not in asked and jobs.reconcile_backstop_request(connection_id):
            asked.add(connection_id)
    return len(asked)


@shared_task(ignore_result=True)
def order_reconcile_task(connection_id: str) -> None:
    """Bring one account's orders up to its broker's books, unless its reconcile is running (then again later)."""
    connection = BrokerConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return
    token = jobs.reconcile_begin(connection_id)
    if token is None:
        return
    try:
        order_reconcile(connection=connection)
    except (BrokerError, ServiceError) as error:
        logger.info("order_reconcile_failed", extra={"account_id": connection.account_id, "reason": error.detail})
    finally:
        jobs.reconcile_end(connection_id, token)


@shared_task(ignore_result=True)
def position_refresh_task(connection_id: str, tradingsymbol: str) -> None:
    """After a fill, off the request and the market loop: sync the account and push the position."""
    jobs.position_refresh_begin(connection_id, tradingsymbol)
    connection = BrokerConnection.objects.filter(pk=connection_id).first()
    if connection is not None:
        position_refresh(connection=connection, tradingsymbol=tradingsymbol)
