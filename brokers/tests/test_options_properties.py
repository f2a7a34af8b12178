"""Properties of the option engine that must hold for any inputs (Hypothesis)."""

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from brokers.options import (
    YEAR_SECONDS,
    black76_greeks,
    black76_price,
    implied_vol_and_greeks,
    implied_vols,
    parity_forward,
)

RATE = 0.065
PROPERTIES = settings(max_examples=300, deadline=None, database=None)

forwards = st.floats(1_000, 60_000)
log_moneyness = st.floats(-0.3, 0.3)
# From a minute before the close on expiry day to two years out.
years = st.floats(60 / YEAR_SECONDS, 2.0)
vols = st.floats(0.03, 1.5)
calls = st.booleans()


def _price(future, strike, t, vol, is_call):
    return float(black76_price(future=future, strike=strike, years=t, rate=RATE, vol=vol, is_call=is_call))


@PROPERTIES
@given(forwards, log_moneyness, years, vols, calls)
def test_price_to_implied_vol_to_price_round_trips(future, moneyness, t, vol, is_call):
    strike = future * math.exp(moneyness)
    price = _price(future, strike, t, vol, is_call)
    vega = float(black76_greeks(future=future, strike=strike, years=t, rate=RATE, vol=vol, is_call=is_call).vega)

    iv = float(implied_vols(price=price, future=future, strike=strike, years=t, rate=RATE, is_call=is_call))

    if vega >= 1e-9 * future:  # a well-conditioned option: its vol comes back to 1e-8
        assert abs(iv - vol) <= 1e-8
    if not math.isnan(iv):  # whatever vol is given prices the option back
        assert abs(_price(future, strike, t, iv, is_call) - price) <= 1e-8 * price + 1e-12 * future


@PROPERTIES
@given(forwards, st.floats(-0.15, 0.15), st.floats(1 / 365, 1.0), st.floats(0.05, 0.8), calls)
def test_greeks_match_finite_differences(future, moneyness, t, vol, is_call):
    strike = future * math.exp(moneyness)
    greeks = black76_greeks(future=future, strike=strike, years=t, rate=RATE, vol=vol, is_call=is_call)
    assume(float(greeks.gamma) * future * future * vol * vol * t > 1e-4 * future)  # enough curvature to measure

    def price(**bump):
        inputs = {"future": future, "t": t, "vol": vol} | bump
        return _price(inputs["future"], strike, inputs["t"], inputs["vol"], is_call)

    # Bumps scaled to the option's own spread vol*sqrt(t), so the truncation error stays near 1e-6 of the greek.
    df, dv, dt = 1e-3 * future * vol * math.sqrt(t), 1e-3 * vol, 1e-3 * t
    delta = (price(future=future + df) - price(future=future - df)) / (2 * df)
    gamma = (price(future=future + df) - 2 * price() + price(future=future - df)) / (df * df)
    vega = (price(vol=vol + dv) - price(vol=vol - dv)) / (2 * dv) * 0.01
    theta = -(price(t=t + dt) - price(t=t - dt)) / (2 * dt) / 365
    scale = price() + 1e-3 * future * math.sqrt(t) * vol
    assert abs(float(greeks.delta) - delta) <= 1e-6
    assert abs(float(greeks.gamma) - gamma) <= 1e-4 * float(greeks.gamma) + 1e-10
    assert abs(float(greeks.vega) - vega) <= 1e-5 * scale
    assert abs(float(greeks.theta) - theta) <= 1e-5 * scale


@PROPERTIES
@given(forwards, log_moneyness, years, vols)
def test_a_call_and_a_put_at_one_strike_share_gamma_and_vega(future, moneyness, t, vol):
    strike = future * math.exp(moneyness)
    call_price, put_price = _price(future, strike, t, vol, True), _price(future, strike, t, vol, False)
    direct = black76_greeks(future=future, strike=strike, years=t, rate=RATE, vol=vol, is_call=[True, False])

    implied = implied_vol_and_greeks(price=[call_price, put_price], future=future, strike=strike, years=t,
                                     rate=RATE, is_call=[True, False])

    assert direct.gamma[0] == direct.gamma[1] and direct.vega[0] == direct.vega[1]
    if float(direct.vega[0]) >= 1e-9 * future:
        # Read back from the two premiums, one vol (to 1e-8) and so one gamma and vega; far in a wing the
        # in-the-money side's rounding moves its vol by 1e-10, and gamma there moves thirty times as fast.
        assert abs(implied.iv[0] - implied.iv[1]) <= 1e-8
        np.testing.assert_allclose(implied.gamma[0], implied.gamma[1], rtol=1e-5)
        np.testing.assert_allclose(implied.vega[0], implied.vega[1], rtol=1e-5)


@PROPERTIES
@given(forwards, st.floats(1 / 365, 1.0), st.floats(0.08, 0.5), st.floats(-0.5, 0.5), st.sampled_from([0, 0.05]),
       st.lists(st.integers(0, 40).filter(lambda i: abs(i - 20) > 2), max_size=10))
def test_the_parity_forward_recovers_the_forward_from_a_synthetic_chain(future, t, atm_vol, skew, tick, missing):
    step = max(round(future * 0.002), 1)  # NIFTY's 50-point strikes, at any level
    atm = round(future / step) * step
    strikes = atm + step * np.arange(-20, 21)
    vol = atm_vol + skew * np.log(strikes / future)
    vol = np.clip(vol, 0.03, None)
    calls = black76_price(future=future, strike=strikes, years=t, rate=RATE, vol=vol, is_call=True)
    puts = black76_price(future=future, strike=strikes, years=t, rate=RATE, vol=vol, is_call=False)
    if tick:  # quotes are in ticks, and the tick rounding is noise each pair's forward carries
        calls, puts = np.round(calls / tick) * tick, np.round(puts / tick) * tick
    # Some strikes away from the money have only one side quoted.
    calls[[i for i in missing if i % 2]] = np.nan
    puts[[i for i in missing if not i % 2]] = np.nan

    forward = parity_forward(strikes=strikes, calls=calls, puts=puts, years=t, rate=RATE)

    assert forward is not None
    assert abs(forward - future) <= (2 * tick * math.exp(RATE * t) if tick else 1e-9 * future)


def test_the_listed_future_is_the_forward_where_there_is_one_and_nothing_is_guessed_without_quotes():
    strikes = np.array([25900.0, 26000.0, 26100.0])
    assert parity_forward(strikes=strikes, calls=[1.0, 2.0, 3.0], puts=[3.0, 2.0, 1.0], years=0.05, rate=RATE,
                          future=26010.5) == 26010.5
    assert parity_forward(strikes=strikes, calls=[np.nan, 2.0, np.nan], puts=[3.0, np.nan, 1.0], years=0.05,
                          rate=RATE) is None
    assert parity_forward(strikes=strikes, calls=[1.0, 2.0, 3.0], puts=[3.0, 2.0, 1.0], years=0.0,
                          rate=RATE) is None
