"""Periodic portfolio jobs; each only calls a service. Queued one task per account."""

from __future__ import annotations

import logging
from datetime import date, datetime

from celery import shared_task
from django.utils import timezone

from brokers.adapters.base import BrokerError
from brokers.calendar import trading_day_of
from brokers.models import BrokerConnection
from budhitrade.errors import Conflict
from portfolio import services

logger = logging.getLogger("budhitrade.portfolio")


def _moment(now: str | None) -> datetime:
    return datetime.fromisoformat(now) if now else timezone.now()


@shared_task
def account_sync_due_task(now: str | None = None) -> int:
    """In market hours: queue one sync per connected account (the worker pool bounds how many run at once).

    `now` (ISO 8601) runs it by hand as of another moment.
    """
    due = services.account_sync_due(now=_moment(now))
    for connection_id in due:
        account_sync_task.delay(connection_id)
    return len(due)


@shared_task(ignore_result=True)
def account_sync_task(connection_id: str, force: bool = False) -> None:
    """Sync one account; a broker failure is recorded on the account, not retried until the next round."""
    connection = BrokerConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return
    try:
        services.account_sync(connection=connection, force=force)
    except (BrokerError, Conflict) as error:
        logger.info("portfolio_sync_skipped", extra={"account_id": connection.account_id, "reason": error.detail})


@shared_task
def account_snapshot_due_task(now: str | None = None) -> int:
    """After the close on a trading day: queue one end-of-day snapshot per connected account."""
    moment = _moment(now)
    due = services.account_snapshot_due(now=moment)
    day = trading_day_of(moment).isoformat()
    for connection_id in due:
        account_snapshot_task.delay(connection_id, day)
    return len(due)


@shared_task(ignore_result=True)
def account_snapshot_task(connection_id: str, day: str) -> None:
    """Sync one account and record its snapshot for `day` (ISO date)."""
    connection = BrokerConnection.objects.filter(pk=connection_id).first()
    if connection is not None:
        services.account_snapshot(connection=connection, day=date.fromisoformat(day))
