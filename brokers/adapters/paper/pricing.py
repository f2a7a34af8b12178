"""Prices of the paper exchange's derivatives: futures at cost of carry, options by Black-76 with a smile."""

from __future__ import annotations

import math

YEAR_SECONDS = 365 * 24 * 3600
# Near expiry the time value floors at a minute, so an expiring option is worth its intrinsic value.
MIN_YEARS = 60 / YEAR_SECONDS


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


def smile_vol(*, atm_vol: float, future: float, strike: float, years: float) -> float:
    """A skewed smile in standardised moneyness: puts below the money carry more volatility."""
    moneyness = math.log(strike / future) / math.sqrt(max(years, MIN_YEARS))
    moneyness = max(-3.0, min(3.0, moneyness))
    return max(0.05, atm_vol - 0.05 * moneyness + 0.03 * moneyness * moneyness)


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
