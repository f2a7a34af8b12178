"""Option and futures arithmetic that holds on any broker: NSE's expiry calendar, cost of carry, Black-76,
implied volatility and greeks, and the forward a chain implies.

Nothing here knows a broker or a market's state: the paper exchange prices
its derivatives with it, and analytics reads volatility and greeks back from
any broker's quotes with the same code. The array functions work on whole
chains at once; `black76` and `implied_vol` are the same code on one option.
"""

from brokers.options.black76 import (
    DAYS_PER_YEAR,
    Greeks,
    black76,
    black76_greeks,
    black76_price,
    future_price,
    option_is_call,
)
from brokers.options.calendar import (
    EXPIRY_WEEKDAY,
    MIN_YEARS,
    TUESDAY,
    YEAR_SECONDS,
    expiry_close,
    is_monthly_expiry,
    last_expiry_weekday,
    monthly_expiries,
    weekly_expiry,
    years_to_expiry,
)
from brokers.options.implied import ImpliedGreeks, implied_vol, implied_vol_and_greeks, implied_vols
from brokers.options.parity import parity_forward, quote_mid

__all__ = [
    "DAYS_PER_YEAR", "EXPIRY_WEEKDAY", "MIN_YEARS", "TUESDAY", "YEAR_SECONDS",
    "Greeks", "ImpliedGreeks",
    "black76", "black76_greeks", "black76_price", "expiry_close", "future_price", "implied_vol",
    "implied_vol_and_greeks", "implied_vols", "is_monthly_expiry", "last_expiry_weekday", "monthly_expiries",
    "option_is_call", "parity_forward", "quote_mid", "weekly_expiry", "years_to_expiry",
]
