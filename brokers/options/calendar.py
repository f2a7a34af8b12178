"""NSE's index-derivative expiry calendar and time to expiry in IST calendar time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from brokers.calendar import IST, MARKET_CLOSE

YEAR_SECONDS = 365 * 24 * 3600
# Near expiry the paper market's time value floors at a minute, so an expiring option is worth its intrinsic value.
MIN_YEARS = 60 / YEAR_SECONDS
TUESDAY = 1
# NSE's index derivatives expire on Tuesdays (the last Tuesday of the month for monthlies) since September 2025.
EXPIRY_WEEKDAY = TUESDAY


def last_expiry_weekday(year: int, month: int) -> date:
    """The month's last expiry weekday: its monthly expiry."""
    first_next = date(year + (month == 12), month % 12 + 1, 1)
    day = first_next - timedelta(days=1)
    while day.weekday() != EXPIRY_WEEKDAY:
        day -= timedelta(days=1)
    return day


def monthly_expiries(on: date, count: int) -> list[date]:
    """The next `count` monthly expiries on or after `on`."""
    expiries, year, month = [], on.year, on.month
    while len(expiries) < count:
        expiry = last_expiry_weekday(year, month)
        if expiry >= on:
            expiries.append(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return expiries


def weekly_expiry(on: date) -> date:
    """The next weekly expiry on or after `on`."""
    return on + timedelta(days=(EXPIRY_WEEKDAY - on.weekday()) % 7)


def is_monthly_expiry(day: date) -> bool:
    return last_expiry_weekday(day.year, day.month) == day


def expiry_close(day: date) -> datetime:
    """When a contract expiring on `day` stops trading: the session's close, 15:30 IST."""
    return datetime.combine(day, MARKET_CLOSE, IST)


def years_to_expiry(expiry: date, moment: datetime) -> float:
    """Time left to a contract's expiry close, in years of calendar seconds (0 once it has expired)."""
    return max((expiry_close(expiry) - moment).total_seconds(), 0) / YEAR_SECONDS
