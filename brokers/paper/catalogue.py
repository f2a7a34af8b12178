"""What the paper exchange lists: NIFTY 50 equities, two indices, their F&O contracts and calendar.

Reference prices are the paper market's starting points (late-2025 levels),
not live quotes. Equity tokens are NSE's cash-market tokens; index tokens are
the ones seed 002 uses (26000 NIFTY 50, 26009 BANKNIFTY). Derivative tokens
are derived from the tradingsymbol, so they are the same in every run.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings

from brokers import calendar
from brokers.calendar import IST, MARKET_CLOSE, SESSION_MINUTES  # noqa: F401  (re-exported for the walk)
from brokers.options import (  # noqa: F401  (NSE's expiry calendar, which the listing follows)
    MIN_YEARS,
    expiry_close,
    is_monthly_expiry,
    monthly_expiries,
    weekly_expiry,
)

TICK = Decimal("0.05")


@dataclass(frozen=True)
class Equity:
    token: int
    symbol: str
    name: str
    isin: str
    price: Decimal
    annual_vol: float = 0.25


@dataclass(frozen=True)
class Index:
    token: int
    symbol: str
    name: str
    price: Decimal
    annual_vol: float
    lot_size: int
    strike_step: int
    # NSE lists weekly options for NIFTY only (BANKNIFTY weeklies ended in Nov 2024).
    weekly_options: bool
    atm_vol: float


def _eq(token: int, symbol: str, name: str, isin: str, price: str, vol: float = 0.25) -> Equity:
    return Equity(token, symbol, name, isin, Decimal(price), vol)


EQUITIES: tuple[Equity, ...] = (
    _eq(2885, "RELIANCE", "Reliance Industries", "INE002A01018", "1500"),
    _eq(11536, "TCS", "Tata Consultancy Services", "INE467B01029", "3100", 0.22),
    _eq(1333, "HDFCBANK", "HDFC Bank", "INE040A01034", "990", 0.18),
    _eq(4963, "ICICIBANK", "ICICI Bank", "INE090A01021", "1380", 0.20),
    _eq(1594, "INFY", "Infosys", "INE009A01021", "1500", 0.24),
    _eq(10604, "BHARTIARTL", "Bharti Airtel", "INE397D01024", "2100", 0.22),
    _eq(3045, "SBIN", "State Bank of India", "INE062A01020", "950", 0.24),
    _eq(1660, "ITC", "ITC", "INE154A01025", "405", 0.18),
    _eq(1394, "HINDUNILVR", "Hindustan Unilever", "INE030A01027", "2450", 0.18),
    _eq(11483, "LT", "Larsen & Toubro", "INE018A01030", "4000", 0.22),
    _eq(1922, "KOTAKBANK", "Kotak Mahindra Bank", "INE237A01028", "2100", 0.22),
    _eq(5900, "AXISBANK", "Axis Bank", "INE238A01034", "1250", 0.24),
    _eq(317, "BAJFINANCE", "Bajaj Finance", "INE296A01032", "1000", 0.28),
    _eq(236, "ASIANPAINT", "Asian Paints", "INE021A01026", "2900", 0.22),
    _eq(10999, "MARUTI", "Maruti Suzuki India", "INE585B01010", "16000", 0.22),
    _eq(3351, "SUNPHARMA", "Sun Pharmaceutical Industries", "INE044A01036", "1750", 0.22),
    _eq(3506, "TITAN", "Titan Company", "INE280A01028", "3800", 0.24),
    _eq(11532, "ULTRACEMCO", "UltraTech Cement", "INE481G01011", "11800", 0.22),
    _eq(17963, "NESTLEIND", "Nestle India", "INE239A01024", "1250", 0.18),
    _eq(3787, "WIPRO", "Wipro", "INE075A01022", "245", 0.24),
    _eq(7229, "HCLTECH", "HCL Technologies", "INE860A01027", "1600", 0.24),
    _eq(13538, "TECHM", "Tech Mahindra", "INE669C01036", "1450", 0.26),
    _eq(14977, "POWERGRID", "Power Grid Corporation of India", "INE752E01010", "280", 0.22),
    _eq(11630, "NTPC", "NTPC", "INE733E01010", "330", 0.24),
    _eq(2475, "ONGC", "Oil & Natural Gas Corporation", "INE213A01029", "250", 0.26),
    _eq(3499, "TATASTEEL", "Tata Steel", "INE081A01020", "175", 0.30),
    _eq(11723, "JSWSTEEL", "JSW Steel", "INE019A01038", "1150", 0.28),
    _eq(1363, "HINDALCO", "Hindalco Industries", "INE038A01020", "800", 0.30),
    _eq(20374, "COALINDIA", "Coal India", "INE522F01014", "380", 0.26),
    _eq(25, "ADANIENT", "Adani Enterprises", "INE423A01024", "2400", 0.38),
    _eq(15083, "ADANIPORTS", "Adani Ports and SEZ", "INE742F01042", "1450", 0.32),
    _eq(16675, "BAJAJFINSV", "Bajaj Finserv", "INE918I01026", "2050", 0.26),
    _eq(16669, "BAJAJ-AUTO", "Bajaj Auto", "INE917I01010", "8900", 0.24),
    _eq(2031, "M&M", "Mahindra & Mahindra", "INE101A01026", "3700", 0.26),
    _eq(1348, "HEROMOTOCO", "Hero MotoCorp", "INE158A01026", "5600", 0.26),
    _eq(910, "EICHERMOT", "Eicher Motors", "INE066A01021", "6900", 0.26),
    _eq(881, "DRREDDY", "Dr. Reddy's Laboratories", "INE089A01031", "1250", 0.22),
    _eq(694, "CIPLA", "Cipla", "INE059A01026", "1520", 0.22),
    _eq(157, "APOLLOHOSP", "Apollo Hospitals Enterprise", "INE437A01024", "7600", 0.24),
    _eq(1232, "GRASIM", "Grasim Industries", "INE047A01021", "2800", 0.24),
    _eq(547, "BRITANNIA", "Britannia Industries", "INE216A01030", "5900", 0.20),
    _eq(3432, "TATACONSUM", "Tata Consumer Products", "INE192A01025", "1170", 0.22),
    _eq(21808, "SBILIFE", "SBI Life Insurance", "INE123W01016", "2000", 0.22),
    _eq(467, "HDFCLIFE", "HDFC Life Insurance", "INE795G01014", "760", 0.24),
    _eq(5258, "INDUSINDBK", "IndusInd Bank", "INE095A01012", "850", 0.36),
    _eq(4306, "SHRIRAMFIN", "Shriram Finance", "INE721A01047", "800", 0.30),
    _eq(1964, "TRENT", "Trent", "INE849A01020", "4600", 0.32),
    _eq(383, "BEL", "Bharat Electronics", "INE263A01024", "420", 0.30),
    _eq(5097, "ETERNAL", "Eternal", "INE758T01015", "300", 0.36),
    _eq(18143, "JIOFIN", "Jio Financial Services", "INE758E01017", "310", 0.32),
)

INDICES: tuple[Index, ...] = (
    Index(26000, "NIFTY", "NIFTY 50", Decimal("26000"), 0.12, 65, 50, True, 0.12),
    Index(26009, "BANKNIFTY", "NIFTY BANK", Decimal("59000"), 0.14, 30, 100, False, 0.14),
)

# Strikes listed each side of the money when a contract series opens.
STRIKES_EACH_SIDE = 20
FUTURE_EXPIRIES = 3
RISK_FREE_RATE = 0.065
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKLY_MONTH_CODES = "123456789OND"


# --- the paper exchange's calendar: NSE's, or open all day every day (PAPER_MARKET_HOURS=always) -------

def _always_open() -> bool:
    return settings.PAPER_MARKET_HOURS == "always"


def is_trading_day(day: date) -> bool:
    return True if _always_open() else calendar.is_trading_day(day)


def session_bounds(day: date) -> tuple[datetime, datetime]:
    """09:15 to 15:30 IST; or 00:00 to 23:59 IST for practice outside NSE hours."""
    if _always_open():
        return datetime.combine(day, time(0, 0), IST), datetime.combine(day, time(23, 59), IST)
    return calendar.session_bounds(day)


def square_off_at(day: date) -> datetime:
    """Intraday positions close ten minutes before the session does (15:20 IST on NSE hours)."""
    return session_bounds(day)[1] - timedelta(minutes=10)


def session_is_open(moment: datetime) -> bool:
    day = moment.astimezone(IST).date()
    open_at, close_at = session_bounds(day)
    return is_trading_day(day) and open_at <= moment < close_at


def next_trading_day(day: date) -> date:
    return calendar.next_trading_day(day, trading=is_trading_day)


def previous_trading_day(day: date) -> date:
    return calendar.previous_trading_day(day, trading=is_trading_day)


def option_expiries(on: date, *, weekly: bool) -> dict[date, bool]:
    """Option series open on `on` -> whether each is a weekly.

    With weeklies: the nearest weekly and the nearest monthly after it (so a
    monthly series is always there when the nearest weekly is itself the
    monthly); without: the nearest two monthlies.
    """
    if not weekly:
        return {expiry: False for expiry in monthly_expiries(on, 2)}
    nearest = weekly_expiry(on)
    monthly = next(expiry for expiry in monthly_expiries(on, 2) if expiry > nearest)
    return {nearest: not is_monthly_expiry(nearest), monthly: False}


def smile_vol(*, atm_vol: float, future: float, strike: float, years: float) -> float:
    """The listing's volatility smile, skewed in standardised moneyness: puts below the money carry more."""
    moneyness = math.log(strike / future) / math.sqrt(max(years, MIN_YEARS))
    moneyness = max(-3.0, min(3.0, moneyness))
    return max(0.05, atm_vol - 0.05 * moneyness + 0.03 * moneyness * moneyness)


def future_symbol(underlying: str, expiry: date) -> str:
    return f"{underlying}{expiry:%y}{_MONTHS[expiry.month - 1]}FUT"


def option_symbol(underlying: str, expiry: date, strike: int, option_type: str) -> str:
    """Kite's format: monthly NIFTY25DEC26000CE, weekly NIFTY25D0226000CE."""
    if is_monthly_expiry(expiry):
        return f"{underlying}{expiry:%y}{_MONTHS[expiry.month - 1]}{strike}{option_type}"
    return f"{underlying}{expiry:%y}{_WEEKLY_MONTH_CODES[expiry.month - 1]}{expiry:%d}{strike}{option_type}"


def derivative_token(tradingsymbol: str) -> int:
    """A token from the symbol alone (checked for clashes when contracts are listed)."""
    return 100_000 + zlib.crc32(tradingsymbol.encode()) % 9_000_000


def round_to_tick(value: float | Decimal) -> Decimal:
    ticks = (Decimal(str(value)) / TICK).quantize(Decimal("1"))
    return max(ticks * TICK, TICK)
