"""Implied volatility under Black-76, vectorized: a closed-form first guess, then Householder steps.

Every option is first turned into its out-of-the-money twin by parity (the
time value is what carries the volatility) and normalised: x = -|ln(F/K)|,
beta = time value / sqrt(FK). The normalised Black call
b(x, s) = e^(x/2) N(x/s + s/2) - e^(-x/2) N(x/s - s/2), s = vol * sqrt(T),
is then solved for s, on ln b - ln beta (ln b is close to linear in 1/s in
the steep lower wing, where b itself defeats Newton). The first guess is
Stefanica and Radoicic's explicit formula (the Black formula with Polya's
approximation of N, inverted; about 1% off, 6% at worst). A third-order
Householder step and a Halley step follow, which converge almost
everywhere; an element whose last step was not negligible is solved again
from the guess with steps kept inside a bracket narrowed at every
evaluation (halved when a step leaves it). A volatility is given only when a
step has become negligible and its premium reproduces the time value;
anything else is NaN, never a made-up number. Work goes in chunks that keep
NumPy's temporaries in cache.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import ndtr

from brokers.options.black76 import LOG_INV_SQRT_2PI, option_is_call, premium_and_greeks

# Polya's N(x) ~ 1/2 + sign(x)/2 sqrt(1 - e^(-k x^2)); Stefanica and Radoicic use k = 2/pi.
POLYA = 2.0 / np.pi
# A Halley (or Householder) step this small, relative to s, leaves an error around its cube: far below 1e-8.
STEP_TOLERANCE = 1e-6
# Unguarded steps every option takes (from about 1% off, two leave it exact to rounding); the rest get up to
# MAX_STEPS more inside a bracket.
FIRST_STEPS = 2
MAX_STEPS = 40
# Options per pass: 128 KiB a temporary, which measured fastest here (8,192 and 32,768 are slower).
CHUNK = 16384
# The solved premium must reproduce the time value to this (relative), give or take rounding at the strike's
# scale (absolute, against the larger of forward and strike).
PRICE_RELATIVE_TOLERANCE = 1e-8
PRICE_ABSOLUTE_TOLERANCE = 1e-12
# An in-the-money time value this small against the intrinsic value it was taken from is rounding, not
# optionality: no volatility is read from it.
TIME_VALUE_FLOOR = 1e-12


class ImpliedGreeks(NamedTuple):
    """Implied volatility and greeks of each option; all NaN where no volatility reproduces the price."""

    iv: np.ndarray
    delta: np.ndarray
    gamma: np.ndarray
    theta: np.ndarray
    vega: np.ndarray


def _first_guess(x: np.ndarray, f: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Stefanica-Radoicic's explicit s for an OTM call on forward f = e^x <= 1, strike 1, undiscounted price c.

    Their quadratic's coefficients A, B, C (Table 3 of the paper), simplified with u = c + 1 - f, w = cu/f.
    """
    ek = np.exp(POLYA * x)
    ek_inverse = 1.0 / ek
    g1, g2 = f * ek_inverse, ek / f
    g_sum = g1 + g2
    g1 -= g2
    a = g1 * g1
    w = c * (c + 1.0 - f) / f
    b = 4.0 * (ek + ek_inverse - g_sum + 2.0 * g_sum * w)
    cc = 16.0 * w * (f - c) * (1.0 + c) / f
    gamma = np.log((b + np.sqrt(b * b + 4.0 * a * cc)) / (2.0 * cc)) / POLYA
    up, down = np.sqrt(gamma + x), np.sqrt(gamma - x)
    # Below the Polya price at the inflection point s = sqrt(2|x|) the smaller root is the one.
    below = c <= 0.5 * (f - 1.0 + np.sqrt(1.0 - ek * ek))
    up *= 1.0 - 2.0 * below
    up += down
    unusable = ~(up > 0)
    if unusable.any():  # the formula broke down (it should not); the bracket still finds the root from here
        up[unusable] = np.sqrt(-2.0 * x[unusable]) + 0.1
    return up


def _householder(x, xx, beta, log_beta, half, s, third_order=True):
    """b(x, s) and the Householder step (third order, else Halley's) on ln b(s) - ln beta, for every element."""
    s_inverse = 1.0 / s
    d1 = x * s_inverse + 0.5 * s
    b = half * ndtr(d1) - ndtr(d1 - s) / half
    ratio = xx * s_inverse * s_inverse
    # The derivatives of ln b from q = b'/b and the normalised Black's closed forms h2 = b''/b', h3 = b'''/b'.
    q = np.exp(LOG_INV_SQRT_2PI - 0.5 * ratio - 0.125 * s * s) / b
    h2 = ratio * s_inverse - 0.25 * s
    nu = (log_beta - np.log(b)) / q
    if not third_order:
        h2 -= q
        return b, nu / (1.0 + 0.5 * h2 * nu)
    h3 = h2 * h2 - 3.0 * ratio * s_inverse * s_inverse - 0.25
    h2 -= q
    h3 -= q * (3.0 * h2 + q)
    return b, nu * (1.0 + 0.5 * h2 * nu) / (1.0 + nu * (h2 + h3 * nu / 6.0))


def _safeguarded_step(x, xx, beta, log_beta, half, s, low, high):
    """A Householder step kept inside the bracket [low, high] (narrowed in place), else the bracket halved
    (or s doubled while unbounded above); returns the new s, whether the step was Householder's, its size."""
    b, step = _householder(x, xx, beta, log_beta, half, s)
    below = b < beta
    np.maximum(low, s, out=low, where=below)
    np.minimum(high, s, out=high, where=~below)
    proposed = s + step
    householder = (proposed >= low) & (proposed <= high)
    if not householder.all():
        fallback = np.where(np.isfinite(high), 0.5 * (low + high), 2.0 * s)
        proposed = np.where(householder, proposed, fallback)
    return proposed, householder, np.abs(step)


def _solve(x, beta, lower_forward):
    """s with b(x, s) = beta for x <= 0 and 0 < beta < e^(x/2); NaN where no Householder step converged.

    The first steps are plain Householder steps, which from this first guess converge almost everywhere;
    whatever has not converged after them is solved again from the guess, inside a bracket.
    """
    half = np.sqrt(lower_forward)
    guess = _first_guess(x, lower_forward, beta * half)
    args = [x, x * x, beta, np.log(beta), half]
    s = guess
    for number in range(FIRST_STEPS):
        # The last of them starts within about 1e-5 of the root, where Halley's cubic order is plenty.
        _, step = _householder(*args, s, third_order=number < FIRST_STEPS - 1)
        s = s + step
    converged = np.abs(step) <= STEP_TOLERANCE * s  # False for NaN
    if converged.all():
        return s
    todo = np.flatnonzero(~converged)
    args = [a[todo] for a in args]
    s_todo = guess[todo]
    low, high = np.zeros_like(s_todo), np.full_like(s_todo, np.inf)
    solved = np.zeros(todo.size, dtype=bool)
    for _ in range(MAX_STEPS):
        stepped, householder, size = _safeguarded_step(*args, s_todo, low, high)
        s_todo = np.where(solved, s_todo, stepped)  # a solved element stays where it converged
        solved |= householder & (size <= STEP_TOLERANCE * s_todo)
        if solved.all():
            break
    s[todo] = np.where(solved, s_todo, np.nan)
    return s


def implied_vol_and_greeks(*, price, future, strike, years, rate, is_call) -> ImpliedGreeks:
    """IV and greeks of every option in a chain: discounted premiums in, NaN out wherever no vol reproduces one.

    NaN for a missing (NaN) or non-positive price, forward, strike or time, a price at or below the discounted
    intrinsic value (no time value), a price at or above the discounted forward (call) or strike (put).
    """
    arrays = np.broadcast_arrays(*(np.asarray(value, dtype=float) for value in (price, future, strike, years, rate)),
                                 np.asarray(is_call, dtype=bool))
    shape = arrays[0].shape
    if len(shape) != 1:  # a 1-D broadcast is used as it is: a scalar forward or rate is not copied out
        arrays = [a.ravel() for a in arrays]
    out = [np.empty(arrays[0].size) for _ in ImpliedGreeks._fields]
    # Chunks small enough that the temporaries stay in cache: a quarter faster than whole 100,000-option arrays.
    for start in range(0, arrays[0].size, CHUNK):
        window = slice(start, start + CHUNK)
        for target, value in zip(out, _chunk(*(a[window] for a in arrays))):
            target[window] = value
    return ImpliedGreeks(*(a.reshape(shape) for a in out))


def _chunk(price, future, strike, years, rate, call) -> list[np.ndarray]:
    """IV and the four greeks of one chunk of options."""
    with np.errstate(all="ignore"):
        discount = np.exp(-rate * years)
        sign = 2.0 * call - 1.0
        intrinsic = np.maximum(sign * (future - strike), 0.0)
        time_value = price / discount - intrinsic
        small, large = np.minimum(future, strike), np.maximum(future, strike)
        # NaN anywhere fails a comparison, so a missing input is not good either.
        good = ((time_value > TIME_VALUE_FLOOR * intrinsic) & (time_value < small) & (small > 0) & (years > 0))
        index = None if good.all() else np.flatnonzero(good)
        if index is not None:
            price, future, strike, years, rate, discount, sign, time_value, small, large = (
                a[index] for a in (price, future, strike, years, rate, discount, sign, time_value, small, large))
        log_moneyness = np.log(future / strike)
        spread = _solve(-np.abs(log_moneyness), time_value / np.sqrt(future * strike), small / large)
        root = np.sqrt(years)
        vol = spread / root
        premium, greeks = premium_and_greeks(future=future, strike=strike, root=root, rate=rate, vol=vol,
                                             spread=spread, theta_sign=sign,
                                             d1=log_moneyness / spread + 0.5 * spread, discount=discount)
        # The last word: a volatility is only given if it prices the option's time value back.
        unreproduced = ~(np.abs(premium - price) <= PRICE_RELATIVE_TOLERANCE * discount * time_value
                         + PRICE_ABSOLUTE_TOLERANCE * large)
        values = [vol, *greeks]
        if unreproduced.any():
            for value in values:
                value[unreproduced] = np.nan
    if index is not None:
        values = [_scatter(value, index, good.size) for value in values]
    return values


def _scatter(value: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    full = np.full(size, np.nan)
    full[index] = value
    return full


def implied_vols(*, price, future, strike, years, rate, is_call) -> np.ndarray:
    """Implied volatility of every option (NaN where none reproduces its price); see implied_vol_and_greeks."""
    return implied_vol_and_greeks(price=price, future=future, strike=strike, years=years, rate=rate,
                                  is_call=is_call).iv


def implied_vol(*, price: float, future: float, strike: float, years: float, rate: float,
                option_type: str) -> float | None:
    """The Black-76 volatility that reproduces one option's (CE or PE) price; None when none does."""
    vol = float(implied_vols(price=price, future=future, strike=strike, years=years, rate=rate,
                             is_call=option_is_call(option_type)))
    return None if np.isnan(vol) else vol
