"""Reads of the option-chain snapshots, each bounded by the buckets it answers for, never by the history kept.

Every read starts from a bucket found through the (underlying, bucket) index (the latest, the last one in a
timeframe bucket, the session's first, or a window's closes walked one index probe per bucket) and then reads
rows of those buckets only, through the (underlying, expiry, bucket, strike, option_type) unique index. So an
answer costs the same whether the table holds a day or the whole retention period.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Max, Min

from analytics.models import OptionSnapshot
from analytics.timeframes import session_start

# The columns every option read returns, in this order (chain.py reads rows as dicts of these).
ROW_FIELDS = ("expiry", "strike", "option_type", "ltp", "volume", "oi", "underlying_price", "future_price",
              "iv", "delta", "gamma", "theta", "vega")
TABLE = OptionSnapshot._meta.db_table


def option_latest_bucket(*, underlying: str) -> datetime | None:
    """The underlying's latest one-minute bucket."""
    return OptionSnapshot.objects.filter(underlying=underlying).aggregate(latest=Max("bucket"))["latest"]


def option_close_bucket(*, underlying: str, start: datetime, seconds: int) -> datetime | None:
    """The last one-minute bucket inside the timeframe bucket [start, start + seconds)."""
    return (OptionSnapshot.objects.filter(underlying=underlying, bucket__gte=start,
                                          bucket__lt=start + timedelta(seconds=seconds))
            .aggregate(close=Max("bucket"))["close"])


def option_session_first_bucket(*, underlying: str, bucket: datetime) -> datetime | None:
    """The first bucket of the IST session holding `bucket`: what OI change is measured against."""
    return (OptionSnapshot.objects.filter(underlying=underlying, bucket__gte=session_start(bucket),
                                          bucket__lte=bucket)
            .aggregate(first=Min("bucket"))["first"])


def option_expiries_at(*, underlying: str, bucket: datetime) -> list[date]:
    """The expiries stored at one bucket, nearest first."""
    return sorted(set(OptionSnapshot.objects.filter(underlying=underlying, bucket=bucket)
                      .values_list("expiry", flat=True)))


def option_chain_rows(*, underlying: str, bucket: datetime, expiries: list[date]) -> list[dict]:
    """Every contract of `expiries` at one bucket, as dicts of ROW_FIELDS."""
    rows = (OptionSnapshot.objects.filter(underlying=underlying, bucket=bucket, expiry__in=expiries)
            .values_list(*ROW_FIELDS))
    return [dict(zip(ROW_FIELDS, row)) for row in rows]


def option_oi_at(*, underlying: str, bucket: datetime, expiries: list[date]) -> dict[tuple, int]:
    """(expiry, strike, option_type) -> OI at one bucket."""
    rows = (OptionSnapshot.objects.filter(underlying=underlying, bucket=bucket, expiry__in=expiries)
            .values_list("expiry", "strike", "option_type", "oi"))
    return {(expiry, strike, side): oi for expiry, strike, side, oi in rows}


_WINDOW_CLOSES = f"""
WITH RECURSIVE closes(bucket) AS (
    (SELECT bucket FROM {TABLE} WHERE underlying = %(underlying)s AND bucket > %(start)s AND bucket <= %(end)s
     ORDER BY bucket DESC LIMIT 1)
    UNION ALL
    SELECT (SELECT o.bucket FROM {TABLE} o
            WHERE o.underlying = %(underlying)s AND o.bucket > %(start)s
              AND o.bucket < to_timestamp(floor(extract(epoch FROM c.bucket) / %(seconds)s) * %(seconds)s)
            ORDER BY o.bucket DESC LIMIT 1)
    FROM closes c WHERE c.bucket IS NOT NULL
)
SELECT bucket FROM closes WHERE bucket IS NOT NULL ORDER BY bucket
"""


def option_window_closes(*, underlying: str, start: datetime, end: datetime, seconds: int) -> list[datetime]:
    """The last one-minute bucket of each timeframe bucket in (start, end], oldest first.

    A loose index scan: one probe of the (underlying, bucket) index per timeframe bucket, walking back from
    `end`, so a window's cost is its length, not the rows in it or the history before it.
    """
    with connection.cursor() as cursor:
        cursor.execute(_WINDOW_CLOSES, {"underlying": underlying, "start": start, "end": end, "seconds": seconds})
        return [bucket for (bucket,) in cursor.fetchall()]


def option_strikes_at(*, underlying: str, bucket: datetime, expiries: list[date]) -> dict[date, list[Decimal]]:
    """Each expiry's listed strikes at one bucket, ascending."""
    strikes: dict[date, set[Decimal]] = {expiry: set() for expiry in expiries}
    for expiry, strike in (OptionSnapshot.objects.filter(underlying=underlying, bucket=bucket, expiry__in=expiries)
                           .values_list("expiry", "strike")):
        strikes[expiry].add(strike)
    return {expiry: sorted(listed) for expiry, listed in strikes.items()}


_NEAR_FORWARD = f"""
SELECT b.n, e.n, {", ".join(f"o.{name}" for name in ROW_FIELDS[1:])}
FROM unnest(%(buckets)s::timestamptz[]) WITH ORDINALITY AS b(bucket, n)
CROSS JOIN unnest(%(expiries)s::date[], %(spans)s::numeric[]) WITH ORDINALITY AS e(expiry, span, n)
CROSS JOIN LATERAL (
    SELECT coalesce(f.future_price, f.underlying_price) AS forward FROM {TABLE} f
    WHERE f.underlying = %(underlying)s AND f.expiry = e.expiry AND f.bucket = b.bucket LIMIT 1
) AS w
CROSS JOIN LATERAL (
    SELECT * FROM {TABLE} r
    WHERE r.underlying = %(underlying)s AND r.expiry = e.expiry AND r.bucket = b.bucket
      AND r.strike BETWEEN w.forward - e.span AND w.forward + e.span AND r.option_type = ANY(%(sides)s)
    OFFSET 0  -- a fence: never flattened into a join the planner may hash over the expiry's whole history
) AS o
"""


def option_rows_near_forward(*, underlying: str, buckets: list[datetime], spans: dict[date, Decimal],
                             sides: tuple[str, ...] = ("CE", "PE")) -> list[dict]:
    """The `sides` contracts within `spans[expiry]` of the expiry's forward (spot without one) at each bucket.

    Each row is a dict of ROW_FIELDS plus `bucket`. Both reads are LATERAL subqueries it cannot flatten
    (LIMIT 1, OFFSET 0), so the plan is always one index probe and one index range per (bucket, expiry),
    whatever the planner guesses of the arrays (on one day's data, flattened, it hashed a whole expiry's
    60,000 rows for the 1,440 wanted): a moneyness or straddle series reads a few strikes a bucket rather
    than whole chains. Buckets and expiries come back as their places in the arrays sent, not as values:
    parsing thousands of timestamps would cost more than the query.
    """
    if not buckets or not spans:
        return []
    expiries = list(spans)
    with connection.cursor() as cursor:
        cursor.execute(_NEAR_FORWARD, {"underlying": underlying, "buckets": buckets, "expiries": expiries,
                                       "spans": [spans[expiry] for expiry in expiries], "sides": list(sides)})
        names = ROW_FIELDS[1:]
        return [{"bucket": buckets[bucket_at - 1], "expiry": expiries[expiry_at - 1], **dict(zip(names, values))}
                for bucket_at, expiry_at, *values in cursor.fetchall()]
