"""Futures analytics read from the one-minute futures snapshots: bars, position signals and rollover.

The rules the two futures endpoints promise, enforced here:

- **As of the data.** Every answer is as of the underlying's latest stored bucket, not the wall clock, so an
  evening or a weekend still shows the last session. `hours` counts back from that bucket.
- **Bars.** A 5- or 15-minute bar is built from the one-minute rows inside it: open the first row's, high the
  highest, low the lowest, close the last row's; volume and OI the last row's (volume is the day's cumulative
  volume, so the last one is the bar's state at its close). A bar is labelled by its own start. The latest bar
  may still be filling.
- **Default contract.** The current month: among the contracts stored at the latest bucket, the one with the
  nearest expiry on or after that bucket's IST date. On expiry day that is the expiring contract (it trades
  to 15:30); from the next day the next month.
- **Signals.** Each bar against the previous one: price up and OI up LONG_BUILDUP, price down and OI up
  SHORT_BUILDUP, price up and OI down SHORT_COVERING, price down and OI down LONG_UNWINDING. An unchanged
  close or unchanged OI (exactly equal: prices are Decimal, OI whole) is NEUTRAL with strength 0. The bar
  before the window is read only as the first bar's baseline; a bar with no previous bar at all (the
  contract's first) has null changes and is NEUTRAL.
- **Strength** in [0, 1]: each change's size against the series' typical change on that axis (the median
  absolute non-zero percentage change over the bars answered), scored x / (1 + x), so a typical move scores
  0.5 and a move k times typical k / (1 + k); the strength is the geometric mean of the price and OI scores,
  so both must move for a strong signal. (A change from zero OI, which has no percentage, scores 1.)
- **Rollover.** At the latest bucket, unexpired contracts only: OI per expiry, each expiry's share of the
  total in percent to one decimal by largest remainder, so the shares' tenths add up to exactly 1000 (the
  shares sum to 100.0); all 0.0 when no contract has OI. days_to_expiry is IST calendar days from that
  bucket's date (0 on expiry day). Rollover pressure is near share x ramp, with near share the near month's
  fraction of the OI and ramp = clamp(1 - days_to_expiry / ROLLOVER_WINDOW_DAYS, 0, 1): 0 until the expiry
  week, then rising each day to the near month's whole share on expiry day; 0 for every later month.

Each read is one or two indexed range queries on (underlying, bucket) bounded by the window, never the history.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from django.db import models
from django.db.models import Min, Sum

from analytics.models import FutureSnapshot
from analytics.timeframes import from_unix, timeframe_start, unix_seconds
from brokers.calendar import IST
from budhitrade.errors import NotFound

ROLLOVER_WINDOW_DAYS = 7
ROUND = 4  # decimals of percentages and strengths


class PositionSignal(models.TextChoices):
    LONG_BUILDUP = "LONG_BUILDUP", "Price up, OI up"
    SHORT_BUILDUP = "SHORT_BUILDUP", "Price down, OI up"
    SHORT_COVERING = "SHORT_COVERING", "Price up, OI down"
    LONG_UNWINDING = "LONG_UNWINDING", "Price down, OI down"
    NEUTRAL = "NEUTRAL", "Price or OI unchanged"


# (price direction, OI direction) -> signal, directions -1 or 1.
SIGNALS = {
    (1, 1): PositionSignal.LONG_BUILDUP,
    (-1, 1): PositionSignal.SHORT_BUILDUP,
    (1, -1): PositionSignal.SHORT_COVERING,
    (-1, -1): PositionSignal.LONG_UNWINDING,
}


@dataclass(frozen=True)
class FutureBar:
    """One contract's OHLC, volume and OI over one timeframe bucket."""

    start: int  # Unix seconds
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int
    oi: int


def iso_z(seconds: int) -> str:
    """ISO 8601 in UTC with a Z, as seed 004 writes times."""
    return from_unix(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def future_latest_bucket(*, underlying: str) -> datetime | None:
    """The underlying's latest stored one-minute bucket (a backward scan of the (underlying, bucket) index)."""
    return (FutureSnapshot.objects.filter(underlying=underlying).order_by("-bucket")
            .values_list("bucket", flat=True).first())


def future_current_contract(*, underlying: str, as_of: datetime) -> str | None:
    """The current month at `as_of`: the nearest expiry on or after its IST date among contracts stored then."""
    return (FutureSnapshot.objects
            .filter(underlying=underlying, bucket=as_of, expiry__gte=as_of.astimezone(IST).date())
            .order_by("expiry", "contract").values_list("contract", flat=True).first())


def future_bar_list(*, underlying: str, contract: str, seconds: int, since: datetime,
                    until: datetime) -> tuple[date | None, list[FutureBar]]:
    """(the contract's expiry, its bars of `seconds` from one-minute rows in [since, until]), oldest first."""
    rows = (FutureSnapshot.objects
            .filter(underlying=underlying, contract=contract, bucket__gte=since, bucket__lte=until)
            .order_by("bucket").values_list("bucket", "open", "high", "low", "close", "volume", "oi", "expiry"))
    bars: list[FutureBar] = []
    expiry = None
    for bucket, open_, high, low, close, volume, oi, expiry in rows:
        start = timeframe_start(bucket, seconds)
        if bars and bars[-1].start == start:
            last = bars[-1]
            bars[-1] = FutureBar(start=start, open=last.open, high=max(last.high, high), low=min(last.low, low),
                                 close=close, volume=volume, oi=oi)
        else:
            bars.append(FutureBar(start=start, open=open_, high=high, low=low, close=close, volume=volume, oi=oi))
    return expiry, bars


def _pct(now: Decimal | int, before: Decimal | int) -> float | None:
    if not before:
        return None
    return round(float((Decimal(now) - Decimal(before)) * 100 / Decimal(before)), ROUND)


def _direction(now, before) -> int:
    return (now > before) - (now < before)


def _typical(changes: list[float | None]) -> float | None:
    sizes = [abs(change) for change in changes if change]
    return statistics.median(sizes) if sizes else None


def _score(change: float | None, typical: float | None) -> float:
    """A change's size against the typical one, x / (1 + x) in [0, 1); a change with no percentage scores 1."""
    if change is None or not typical:
        return 1.0
    ratio = abs(change) / typical
    return ratio / (1 + ratio)


def position_signal_rows(*, bars: list[FutureBar], since: int, contract: str) -> list[dict]:
    """Seed 004's position-signal rows for the bars starting at or after `since`; earlier bars are baselines."""
    pairs = [(bar, bars[index - 1] if index else None) for index, bar in enumerate(bars) if bar.start >= since]
    price_changes = [_pct(bar.close, before.close) if before else None for bar, before in pairs]
    oi_changes = [_pct(bar.oi, before.oi) if before else None for bar, before in pairs]
    typical_price, typical_oi = _typical(price_changes), _typical(oi_changes)
    rows = []
    for (bar, before), price_change, oi_change in zip(pairs, price_changes, oi_changes):
        signal, strength = PositionSignal.NEUTRAL, 0.0
        if before is not None:
            directions = (_direction(bar.close, before.close), _direction(bar.oi, before.oi))
            if 0 not in directions:
                signal = SIGNALS[directions]
                strength = round(math.sqrt(_score(price_change, typical_price) * _score(oi_change, typical_oi)),
                                 ROUND)
        rows.append({
            "time": iso_z(bar.start), "bucket_time": bar.start, "contract": contract,
            "open": bar.open, "high": bar.high, "low": bar.low, "close": bar.close, "volume": bar.volume,
            "open_interest": bar.oi, "price_change_pct": price_change, "oi_change_pct": oi_change,
            "position_signal": signal.value, "signal_strength": strength,
        })
    return rows


def position_signals(*, underlying: str, seconds: int, contract: str | None, hours: int) -> dict:
    """The contract's position signals for the `hours` to the underlying's latest bucket (at most three queries)."""
    as_of = future_latest_bucket(underlying=underlying)
    if as_of is None:
        raise NotFound(f"No futures data for {underlying} yet.")
    if contract is None:
        contract = future_current_contract(underlying=underlying, as_of=as_of)
        if contract is None:
            raise NotFound(f"No unexpired {underlying} futures contract at the latest snapshot.")
    last_start = timeframe_start(as_of, seconds)
    # The window holds hours * 3600 / seconds bars; one more before it is the first bar's baseline.
    first_start = last_start - hours * 3600 + seconds
    expiry, bars = future_bar_list(underlying=underlying, contract=contract, seconds=seconds,
                                   since=from_unix(first_start - seconds), until=as_of)
    rows = position_signal_rows(bars=bars, since=first_start, contract=contract)
    if not rows:
        raise NotFound(f"No {contract} futures data in the {hours} hours to the latest {underlying} snapshot.")
    return {"contract": contract, "expiry": expiry, "as_of": as_of, "series": rows}


def oi_shares(totals: list[int]) -> list[Decimal]:
    """Each total's share of their sum in percent to one decimal, by largest remainder (tenths sum to 1000)."""
    whole = sum(totals)
    if not whole:
        return [Decimal("0.0") for _ in totals]
    exact = [Fraction(total * 1000, whole) for total in totals]
    tenths = [math.floor(share) for share in exact]
    # Ties go to the larger OI, then the nearer expiry (the order given), so the answer is stable.
    order = sorted(range(len(totals)), key=lambda i: (exact[i] - tenths[i], totals[i], -i), reverse=True)
    for index in order[:1000 - sum(tenths)]:
        tenths[index] += 1
    return [Decimal(share) / 10 for share in tenths]


def rollover_pressure(*, near_share: float, days_to_expiry: int) -> float:
    """Near share x clamp(1 - days_to_expiry / ROLLOVER_WINDOW_DAYS, 0, 1), in [0, 1]."""
    ramp = min(1.0, max(0.0, 1 - days_to_expiry / ROLLOVER_WINDOW_DAYS))
    return round(near_share * ramp, ROUND)


def rollover_metrics(*, underlying: str) -> dict:
    """OI share, days to expiry and rollover pressure per unexpired expiry at the latest bucket (two queries)."""
    as_of = future_latest_bucket(underlying=underlying)
    if as_of is None:
        raise NotFound(f"No futures data for {underlying} yet.")
    today = as_of.astimezone(IST).date()
    expiries = list(FutureSnapshot.objects.filter(underlying=underlying, bucket=as_of, expiry__gte=today)
                    .values("expiry").annotate(total_oi=Sum("oi"), contract=Min("contract")).order_by("expiry"))
    if not expiries:
        raise NotFound(f"No unexpired {underlying} futures contract at the latest snapshot.")
    totals = [row["total_oi"] for row in expiries]
    whole = sum(totals)
    rows = []
    for index, (row, share) in enumerate(zip(expiries, oi_shares(totals))):
        days = (row["expiry"] - today).days
        pressure = 0.0
        if index == 0 and whole:
            pressure = rollover_pressure(near_share=row["total_oi"] / whole, days_to_expiry=days)
        rows.append({"expiry": row["expiry"], "contract": row["contract"], "total_oi": row["total_oi"],
                     "oi_pct": share, "days_to_expiry": days, "rollover_pressure": pressure})
    return {"as_of": as_of, "bucket_time": unix_seconds(as_of), "expiries": rows}
