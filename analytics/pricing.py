"""The seam between capture and the option engine: one expiry's forward, and IV and greeks for its options.

Capture calls only these two functions, so the engine behind them
(brokers.options: vectorized Black-76 over a whole expiry at once) can change
without capture changing. Conventions are the engine's, vollib's Black model:
delta is the discounted delta to the forward, theta is per calendar day, vega
per vol point (0.01).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from brokers.options import implied_vol_and_greeks, parity_forward


@dataclass(frozen=True)
class Greeks:
    """An option's implied volatility and greeks; all None when no volatility reproduces its price."""

    iv: float | None = None
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None


NO_GREEKS = Greeks()


def _array(values: Sequence[float | None]) -> np.ndarray:
    return np.array([math.nan if value is None else value for value in values], dtype=float)


def chain_forward(*, strikes: Sequence[float], calls: Sequence[float | None], puts: Sequence[float | None],
                  future: float | None, years: float, rate: float) -> float | None:
    """One expiry's forward: its listed future's price where there is one, else what put-call parity implies
    from the strikes nearest the money (`calls` and `puts` are each strike's premiums, None where unquoted)."""
    return parity_forward(strikes=_array(strikes), calls=_array(calls), puts=_array(puts), years=years, rate=rate,
                          future=future)


def chain_greeks(*, prices: Sequence[float | None], strikes: Sequence[float], option_types: Sequence[str],
                 forward: float | None, years: float, rate: float) -> list[Greeks]:
    """IV and greeks of one expiry's options (CE or PE), in the order given; NO_GREEKS where the price is
    missing, at or below intrinsic value, or no volatility reproduces it, or the expiry has no forward."""
    if not prices:
        return []
    if forward is None or years <= 0:
        return [NO_GREEKS] * len(prices)
    solved = implied_vol_and_greeks(price=_array(prices), future=forward, strike=_array(strikes), years=years,
                                    rate=rate, is_call=np.array([kind == "CE" for kind in option_types]))
    rows = np.column_stack(solved).tolist()
    return [NO_GREEKS if math.isnan(iv) else Greeks(iv=iv, delta=delta, gamma=gamma, theta=theta, vega=vega)
            for iv, delta, gamma, theta, vega in rows]
