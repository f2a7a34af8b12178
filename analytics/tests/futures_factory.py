"""FutureSnapshot rows for tests, written directly (the capture job is tested on its own)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from analytics.models import FutureSnapshot
from brokers.calendar import IST

NEAR, NEXT, FAR = "NIFTY26NOVFUT", "NIFTY26DECFUT", "NIFTY27JANFUT"
EXPIRIES = {NEAR: date(2026, 11, 24), NEXT: date(2026, 12, 29), FAR: date(2027, 1, 26)}


def ist(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST)


def future_snapshot_create(*, bucket: datetime, close, oi: int, contract: str = NEAR, underlying: str = "NIFTY",
                           expiry: date | None = None, open=None, high=None, low=None, volume: int = 0,
                           save: bool = True) -> FutureSnapshot:
    """One minute of one contract; open, high and low default to the close."""
    close = Decimal(str(close))
    row = FutureSnapshot(
        underlying=underlying, contract=contract, expiry=expiry or EXPIRIES.get(contract, date(2026, 11, 24)),
        bucket=bucket, close=close, open=Decimal(str(open)) if open is not None else close,
        high=Decimal(str(high)) if high is not None else close, low=Decimal(str(low)) if low is not None else close,
        volume=volume, oi=oi, underlying_price=close - 20, source="paper")
    if save:
        row.save()
    return row


def future_series_create(*, start: datetime, closes: list, ois: list[int], contract: str = NEAR,
                         underlying: str = "NIFTY", expiry: date | None = None,
                         volumes: list[int] | None = None) -> list[FutureSnapshot]:
    """Consecutive one-minute rows from `start`, one per close."""
    assert len(closes) == len(ois)
    rows = [future_snapshot_create(bucket=start + timedelta(minutes=index), close=close, oi=oi, contract=contract,
                                   underlying=underlying, expiry=expiry,
                                   volume=volumes[index] if volumes else 1000 * (index + 1), save=False)
            for index, (close, oi) in enumerate(zip(closes, ois))]
    return FutureSnapshot.objects.bulk_create(rows)
