"""What a chain's quotes say before any volatility: a usable premium per option, and each expiry's forward."""

from __future__ import annotations

import math

import numpy as np

# Parity forwards from this many strikes nearest the money, medianed: a tick of rounding on one pair moves its
# forward by a tick, the median of several by less, and a stale pair far from the money cannot pull it.
PARITY_STRIKES = 5


def quote_mid(*, bid, ask) -> np.ndarray:
    """Mid of each bid and ask; NaN where either side is missing or not positive, or the quote is crossed."""
    bid, ask = np.broadcast_arrays(np.asarray(bid, dtype=float), np.asarray(ask, dtype=float))
    with np.errstate(invalid="ignore"):
        usable = (bid > 0) & (ask > 0) & (bid <= ask)
        return np.where(usable, 0.5 * (bid + ask), np.nan)


def parity_forward(*, strikes, calls, puts, years: float, rate: float, future: float | None = None,
                   strikes_used: int = PARITY_STRIKES) -> float | None:
    """One expiry's forward: the listed future where given, else put-call parity C - P = D (F - K).

    Each strike with both premiums present (finite and positive) gives F = K + (C - P) / D; the forward is
    the median over the `strikes_used` strikes where |C - P| is smallest, those nearest the money. None
    when no strike has both premiums or time is not positive.
    """
    if future is not None and math.isfinite(future) and future > 0:
        return float(future)
    strikes, calls, puts = (np.asarray(value, dtype=float) for value in (strikes, calls, puts))
    with np.errstate(invalid="ignore"):
        both = (strikes > 0) & (calls > 0) & (puts > 0)
    if years <= 0 or not both.any():
        return None
    spread = calls[both] - puts[both]
    nearest = np.argsort(np.abs(spread), kind="stable")[:strikes_used]
    forward = float(np.median(strikes[both][nearest] + spread[nearest] * math.exp(rate * years)))
    return forward if forward > 0 else None
