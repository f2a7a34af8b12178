"""Option and futures arithmetic that holds on any broker: NSE's expiry calendar, cost of carry, Black-76 and
implied volatility.

Nothing here knows a broker or a market's state: the paper exchange prices
its derivatives with it, and analytics reads volatility back from any
broker's quotes with the same functions.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from brokers.calendar import IST, MARKET_CLOSE

YEAR_SECONDS = 365 * 24 * 3600
# Near expiry the time value floors at a minute, so an expiring option is worth its intrinsic value.
MIN_YEARS = 60 / YEAR_SECONDS
TUESDAY = 1
# NSE's index derivatives expire on Tuesdays (the last Tuesday of the month for monthlies) since September 2025.
EXPIRY_WEEKDAY = TUESDAY


# --- the expiry calendar ------------------------------------------------------------------------

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
    """When a contract expiring on `day` stops trading: the session's close."""
    return datetime.combine(day, MARKET_CLOSE, IST)


def years_to_expiry(expiry: date, moment: datetime) -> float:
    """Time left to a contract's expiry close, in years of calendar seconds (0 once it has expired)."""
    return max((expiry_close(expiry) - moment).total_seconds(), 0) / YEAR_SECONDS


# --- pricing ------------------------------------------------------------------------------------

def _norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def future_price(spot: float, years: float, rate: float) -> float:
    """Cost of carry: F = S * e^(rT)."""
    return spot * math.exp(rate * max(years, 0.0))


def black76(*, future: float, strike: float, years: float, rate: float, vol: float, option_type: str) -> float:
    """Black-76 premium of a European option on a future; `option_type` is CE or PE."""
    years = max(years, MIN_YEARS)
    discount = math.exp(-rate * years)
    spread = vol * math.sqrt(years)
    d1 = (math.log(future / strike) + 0.5 * spread * spread) / spread
    d2 = d1 - spread
    if option_type == "CE":
        return discount * (future * _norm_cdf(d1) - strike * _norm_cdf(d2))
    return discount * (strike * _norm_cdf(-d2) - future * _norm_cdf(-d1))


def implied_vol(*, price: float, future: float, strike: float, years: float, rate: float, option_type: str) -> float | None:
    """The Black-76 volatility that reproduces `price`, by bisection; None when no volatility can."""
    low, high = 1e-4, 5.0
    model = lambda vol: black76(future=future, strike=strike, years=years, rate=rate, vol=vol, option_type=option_type)  # noqa: E731
    if not model(low) <= price <= model(high):
        return None
    for _ in range(100):
        mid = 0.5 * (low + high)
        if model(mid) < price:
            low = mid
        else:
            high = mid
        if high - low < 1e-7:
            break
    return 0.5 * (low + high)
