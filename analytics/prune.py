"""Retention: snapshot rows older than ANALYTICS_RETENTION_DAYS are deleted, a batch at a time."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from analytics.models import FutureSnapshot, OptionSnapshot

logger = logging.getLogger("budhitrade.analytics")

# Each batch is its own short transaction (autocommit), so a prune never holds a long lock beside the captures.
PRUNE_BATCH = 20_000


def retention_days() -> int:
    return settings.ANALYTICS_RETENTION_DAYS


def _prune_table(model, cutoff: datetime, batch: int) -> int:
    table = connection.ops.quote_name(model._meta.db_table)
    deleted = 0
    with connection.cursor() as cursor:
        while True:
            # Oldest first along the bucket index; ids, not a range, so a batch is bounded whatever a bucket holds.
            cursor.execute(f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE bucket < %s "
                           f"ORDER BY bucket LIMIT %s)", [cutoff, batch])
            deleted += cursor.rowcount
            if cursor.rowcount < batch:
                return deleted


def snapshot_prune(*, now: datetime, batch: int = PRUNE_BATCH) -> dict[str, int]:
    """Delete option and futures snapshots whose bucket is more than the retention's days before `now`."""
    cutoff = now - timedelta(days=retention_days())
    deleted = {"options": _prune_table(OptionSnapshot, cutoff, batch),
               "futures": _prune_table(FutureSnapshot, cutoff, batch)}
    if deleted["options"] or deleted["futures"]:
        logger.info("snapshot_pruned", extra={"cutoff": cutoff.isoformat(), **deleted})
    return deleted
