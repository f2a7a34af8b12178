"""Periodic analytics jobs; each only calls a service."""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from django.utils import timezone

from analytics.capture import snapshot_capture_due
from analytics.prune import snapshot_prune
from brokers.adapters.base import BrokerError
from budhitrade.errors import Conflict

logger = logging.getLogger("budhitrade.analytics")


def _moment(now: str | None) -> datetime:
    return datetime.fromisoformat(now) if now else timezone.now()


@shared_task(ignore_result=True)
def snapshot_capture_due_task(now: str | None = None) -> int:
    """Each minute: capture every configured underlying's chain and futures while the market is open.

    Returns the rows written (0 outside market hours). `now` (ISO 8601) runs it by hand as of another moment.
    """
    try:
        capture = snapshot_capture_due(now=_moment(now))
    except (BrokerError, Conflict) as error:  # the next minute tries again; a lost minute is only a gap
        logger.warning("snapshot_capture_failed", extra={"reason": error.detail})
        return 0
    return 0 if capture is None else capture.options + capture.futures


@shared_task(ignore_result=True)
def snapshot_prune_due_task(now: str | None = None) -> int:
    """Delete snapshots older than ANALYTICS_RETENTION_DAYS; returns how many rows went."""
    return sum(snapshot_prune(now=_moment(now)).values())
