"""NSE's trading calendar as BudhiTrade uses it: sessions 09:15 to 15:30 IST on weekdays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
MARKET_OPEN = time(9, 15)
MIS_SQUARE_OFF = time(15, 20)
MARKET_CLOSE = time(15, 30)
SESSION_MINUTES = 375
# Brokers publish the day's instrument master (new contracts, lot and tick sizes) by 08:30 IST.
INSTRUMENTS_PUBLISHED = time(8, 30)


def is_trading_day(day: date) -> bool:
    """Weekdays; exchange holidays are not listed (a sync on one finds nothing new)."""
    return day.weekday() < 5


def next_trading_day(day: date, *, trading: Callable[[date], bool] = is_trading_day) -> date:
    """The first day after `day` that `trading` (NSE's weekdays unless given) calls a trading day."""
    day += timedelta(days=1)
    while not trading(day):
        day += timedelta(days=1)
    return day


def previous_trading_day(day: date, *, trading: Callable[[date], bool] = is_trading_day) -> date:
    day -= timedelta(days=1)
    while not trading(day):
        day -= timedelta(days=1)
    return day


def session_bounds(day: date) -> tuple[datetime, datetime]:
    """The trading session of a day as aware datetimes (09:15 to 15:30 IST)."""
    return datetime.combine(day, MARKET_OPEN, IST), datetime.combine(day, MARKET_CLOSE, IST)


def session_is_open(moment: datetime) -> bool:
    day = moment.astimezone(IST).date()
    open_at, close_at = session_bounds(day)
    return is_trading_day(day) and open_at <= moment < close_at


def trading_day_of(moment: datetime) -> date:
    return moment.astimezone(IST).date()


def instrument_listing_day(moment: datetime) -> date:
    """The day whose instrument master is current at `moment`: today from 08:30 IST, else yesterday."""
    local = moment.astimezone(IST)
    return local.date() if local.time() >= INSTRUMENTS_PUBLISHED else local.date() - timedelta(days=1)
