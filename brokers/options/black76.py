"""Black-76 on the forward, vectorized over whole chains: premium and greeks.

Conventions are vollib's Black model (`vollib.black.greeks.analytical`), which
traders' screens follow: delta is the discounted delta to the forward, gamma
per unit of forward, theta per calendar day (forward held), vega per vol point
(0.01). Inputs broadcast against one another; `is_call` is True for CE and
False for PE. The scalar `black76` the paper market prices with runs the
same formula (`_premium`) on one option with `math`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

from brokers.options.calendar import MIN_YEARS

LOG_INV_SQRT_2PI = -0.5 * math.log(2.0 * math.pi)
SQRT2 = math.sqrt(2.0)
DAYS_PER_YEAR = 365.0
VOL_POINT = 0.01


class Greeks(NamedTuple):
    """Black-76 greeks, arrays of one shape (NaN where an input is invalid)."""

    delta: np.ndarray
    gamma: np.ndarray
    theta: np.ndarray
    vega: np.ndarray


def _inputs(future, strike, years, rate, vol, is_call):
    """The inputs as float arrays of one broadcast shape, and +1 for a call, -1 for a put."""
    floats = (np.asarray(value, dtype=float) for value in (future, strike, years, rate, vol))
    *floats, call = np.broadcast_arrays(*floats, np.asarray(is_call, dtype=bool))
    return (*floats, 2.0 * call - 1.0)


def _ncdf(x: float) -> float:
    """N(x) for one number, from erfc as scipy's ndtr does (no cancellation in the lower tail)."""
    return 0.5 * math.erfc(-x / SQRT2)


def _d1(future, strike, spread, log):
    return log(future / strike) / spread + 0.5 * spread


def _premium(future, strike, discount, spread, sign, d1, cdf):
    """The Black-76 formula, written once: NumPy arrays with ndtr, or one option with math (the paper market
    prices every contract every second, and NumPy's per-call overhead is fifty times the arithmetic).
    Returns the premium and N(sign * d1), which delta reuses."""
    cdf1 = cdf(sign * d1)
    return discount * sign * (future * cdf1 - strike * cdf(sign * (d1 - spread))), cdf1


def black76_price(*, future, strike, years, rate, vol, is_call) -> np.ndarray:
    """Discounted Black-76 premium; at zero time or zero vol the discounted intrinsic value, NaN on bad input."""
    future, strike, years, rate, vol, sign = _inputs(future, strike, years, rate, vol, is_call)
    discount = np.exp(-rate * years)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = vol * np.sqrt(years)
        price, _ = _premium(future, strike, discount, spread, sign, _d1(future, strike, spread, np.log), ndtr)
    intrinsic = discount * np.maximum(sign * (future - strike), 0.0)
    price = np.where(spread > 0, price, intrinsic)
    bad = ~((future > 0) & (strike > 0) & (years >= 0) & (vol >= 0) & np.isfinite(rate))
    return np.where(bad, np.nan, price)


def premium_and_greeks(*, future, strike, root, rate, vol, spread, theta_sign, d1,
                       discount) -> tuple[np.ndarray, Greeks]:
    """Premium and the four greeks once sqrt(T), vol * sqrt(T), d1 and the discount factor are known (the IV
    solver has them all)."""
    premium, cdf1 = _premium(future, strike, discount, spread, theta_sign, d1, ndtr)
    scaled = discount * future * np.exp(LOG_INV_SQRT_2PI - 0.5 * d1 * d1)
    return premium, Greeks(delta=theta_sign * discount * cdf1,
                           gamma=scaled / (future * future * spread),
                           theta=(rate * premium - scaled * vol / (2.0 * root)) / DAYS_PER_YEAR,
                           vega=scaled * root * VOL_POINT)


def black76_greeks(*, future, strike, years, rate, vol, is_call) -> Greeks:
    """Delta, gamma, theta (per calendar day) and vega (per 0.01 vol); NaN where time or vol is not positive."""
    future, strike, years, rate, vol, theta_sign = _inputs(future, strike, years, rate, vol, is_call)
    good = (future > 0) & (strike > 0) & (years > 0) & (vol > 0) & np.isfinite(rate)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        spread = vol * np.sqrt(years)
        d1 = _d1(future, strike, spread, np.log)
        _, greeks = premium_and_greeks(future=future, strike=strike, root=np.sqrt(years), rate=rate, vol=vol,
                                       spread=spread, theta_sign=theta_sign, d1=d1, discount=np.exp(-rate * years))
    return Greeks(*(np.where(good, value, np.nan) for value in greeks))


def future_price(spot: float, years: float, rate: float) -> float:
    """Cost of carry: F = S * e^(rT)."""
    return spot * math.exp(rate * max(years, 0.0))


def option_is_call(option_type: str) -> bool:
    """CE is a call, PE a put; anything else is refused rather than guessed."""
    if option_type == "CE":
        return True
    if option_type == "PE":
        return False
    raise ValueError(f"option_type must be CE or PE, not {option_type!r}")


def black76(*, future: float, strike: float, years: float, rate: float, vol: float, option_type: str) -> float:
    """The paper market's premium of one option (CE or PE): `black76_price`'s formula, time floored at a minute."""
    sign = 1.0 if option_is_call(option_type) else -1.0
    if not (future > 0 and strike > 0 and vol >= 0 and math.isfinite(rate)):
        return math.nan
    years = max(years, MIN_YEARS)
    discount, spread = math.exp(-rate * years), vol * math.sqrt(years)
    if spread == 0:
        return discount * max(sign * (future - strike), 0.0)
    premium, _ = _premium(future, strike, discount, spread, sign, _d1(future, strike, spread, math.log), _ncdf)
    return premium
