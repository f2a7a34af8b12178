"""Retention: the prune job deletes snapshots older than ANALYTICS_RETENTION_DAYS, and only those."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from analytics.models import FutureSnapshot, OptionSnapshot
from analytics.prune import snapshot_prune
from analytics.tasks import snapshot_prune_due_task

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)


def option(bucket: datetime, strike: int = 26000) -> OptionSnapshot:
    return OptionSnapshot(underlying="NIFTY", expiry=date(2026, 12, 29), strike=Decimal(strike), option_type="CE",
                          bucket=bucket, tradingsymbol=f"NIFTY26DEC{strike}CE", ltp=Decimal("100"), source="paper")


def future(bucket: datetime) -> FutureSnapshot:
    price = Decimal("26100")
    return FutureSnapshot(underlying="NIFTY", contract="NIFTY26DECFUT", expiry=date(2026, 12, 29), bucket=bucket,
                          open=price, high=price, low=price, close=price, source="paper")


@pytest.fixture
def history(db):
    """Five option rows and one future row just past 30 days old; three and one just inside."""
    old, kept = NOW - timedelta(days=30, minutes=1), NOW - timedelta(days=29, hours=23, minutes=59)
    OptionSnapshot.objects.bulk_create([option(old, 26000 + 50 * n) for n in range(5)]
                                       + [option(kept, 26000 + 50 * n) for n in range(3)])
    FutureSnapshot.objects.bulk_create([future(old), future(kept)])
    return kept


def test_prune_deletes_only_rows_older_than_the_retention_in_batches(history):
    deleted = snapshot_prune(now=NOW, batch=2)  # three batches of options: 2, 2, 1

    assert deleted == {"options": 5, "futures": 1}
    assert set(OptionSnapshot.objects.values_list("bucket", flat=True)) == {history}
    assert OptionSnapshot.objects.count() == 3
    assert list(FutureSnapshot.objects.values_list("bucket", flat=True)) == [history]


def test_the_retention_is_a_setting(history, settings):
    settings.ANALYTICS_RETENTION_DAYS = 31

    assert snapshot_prune(now=NOW) == {"options": 0, "futures": 0}
    assert OptionSnapshot.objects.count() == 8


def test_the_beat_task_prunes_and_says_how_many_rows_went(history):
    assert snapshot_prune_due_task(now=NOW.isoformat()) == 6
    assert snapshot_prune_due_task(now=NOW.isoformat()) == 0
