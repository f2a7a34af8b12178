"""The vectorized IV and greeks engine against vollib (Let's Be Rational), and the cases that must give no number."""

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest
from vollib.black.greeks import analytical as vollib_greeks
from vollib.black.implied_volatility import implied_volatility as vollib_iv

from brokers.calendar import IST
from brokers.options import (
    YEAR_SECONDS,
    black76,
    black76_greeks,
    black76_price,
    implied_vol,
    implied_vol_and_greeks,
    implied_vols,
    quote_mid,
    years_to_expiry,
)

FORWARD, RATE = 26_000.0, 0.065
EXPIRY = date(2026, 11, 24)
CLOSE = datetime(2026, 11, 24, 15, 30, tzinfo=IST)
# From the last minute of expiry day (15:29 IST) back to a year out.
MOMENTS = [CLOSE - timedelta(minutes=m) for m in (1, 2, 5, 15, 30, 60, 120, 375)] + [
    CLOSE - timedelta(days=d) for d in (1, 3, 7, 30, 90, 365)]
VOLS = [0.05, 0.12, 0.25, 0.5, 1.0]
# Wide strikes for the far expiries, and a fine grid at the money, which is all that has value in the last minutes.
LOG_MONEYNESS = np.union1d(np.linspace(-0.25, 0.25, 21), np.linspace(-0.01, 0.01, 21))
# An IV is only as exact as the price it comes from (about 1e-16 of the forward): it is pinned where a vol
# point moves the price by more than 1e-9 of the forward.
WELL_CONDITIONED_VEGA = 1e-9 * FORWARD


def _grid():
    years = np.array([years_to_expiry(EXPIRY, moment) for moment in MOMENTS])
    strike, years, vol, is_call = np.meshgrid(FORWARD * np.exp(LOG_MONEYNESS), years, VOLS, [True, False],
                                              indexing="ij")
    return strike.ravel(), years.ravel(), vol.ravel(), is_call.ravel()


def _vollib_iv(price, strike, years, is_call):
    try:
        return vollib_iv(price, FORWARD, strike, RATE, years, "c" if is_call else "p")
    except Exception:  # vollib raises below intrinsic and above the maximum
        return np.nan


def test_time_to_expiry_counts_ist_calendar_time_to_the_close_on_expiry_day():
    assert years_to_expiry(EXPIRY, CLOSE - timedelta(minutes=1)) == 60 / YEAR_SECONDS
    # 15:30 IST is 10:00 UTC: a moment in any zone counts to the same close.
    assert years_to_expiry(EXPIRY, datetime(2026, 11, 24, 9, 59, tzinfo=timezone.utc)) == 60 / YEAR_SECONDS
    assert years_to_expiry(EXPIRY, datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)) == 1 / 365
    assert years_to_expiry(EXPIRY, CLOSE + timedelta(seconds=1)) == 0


def test_implied_vol_agrees_with_vollib_to_1e_8_across_moneyness_expiry_and_vol():
    strike, years, vol, is_call = _grid()
    price = black76_price(future=FORWARD, strike=strike, years=years, rate=RATE, vol=vol, is_call=is_call)

    ours = implied_vols(price=price, future=FORWARD, strike=strike, years=years, rate=RATE, is_call=is_call)

    reference = np.array([_vollib_iv(*args) for args in zip(price, strike, years, is_call)])
    vega = black76_greeks(future=FORWARD, strike=strike, years=years, rate=RATE, vol=vol, is_call=is_call).vega
    pinned = vega >= WELL_CONDITIONED_VEGA
    assert pinned.sum() > 3000  # the grid really covers the ground, expiry day's last minutes included
    assert pinned[years < 6 / (24 * 365)].sum() > 700
    assert pinned[years <= 5 * 60 / YEAR_SECONDS].sum() > 150
    assert not np.isnan(ours[pinned]).any()
    assert np.max(np.abs(ours[pinned] - reference[pinned])) <= 1e-8
    assert np.max(np.abs(ours[pinned] - vol[pinned])) <= 1e-8


def test_every_volatility_given_prices_the_option_back():
    strike, years, vol, is_call = _grid()
    price = black76_price(future=FORWARD, strike=strike, years=years, rate=RATE, vol=vol, is_call=is_call)

    ours = implied_vols(price=price, future=FORWARD, strike=strike, years=years, rate=RATE, is_call=is_call)

    given = ~np.isnan(ours)
    repriced = black76_price(future=FORWARD, strike=strike[given], years=years[given], rate=RATE, vol=ours[given],
                             is_call=is_call[given])
    assert np.all(np.abs(repriced - price[given]) <= 1e-8 * price[given] + 1e-12 * FORWARD)


def test_greeks_match_vollib_analytical_greeks():
    strike, years, vol, is_call = _grid()
    sample = np.arange(0, strike.size, 7)
    strike, years, vol, is_call = strike[sample], years[sample], vol[sample], is_call[sample]

    ours = black76_greeks(future=FORWARD, strike=strike, years=years, rate=RATE, vol=vol, is_call=is_call)

    for name in ("delta", "gamma", "theta", "vega"):
        function = getattr(vollib_greeks, name)
        reference = np.array([function("c" if c else "p", FORWARD, k, t, RATE, v)
                              for k, t, v, c in zip(strike, years, vol, is_call)])
        np.testing.assert_allclose(getattr(ours, name), reference, rtol=1e-9, atol=1e-12, err_msg=name)


def test_chain_greeks_are_the_greeks_at_the_implied_vol():
    strike = FORWARD * np.exp(LOG_MONEYNESS)
    is_call = strike >= FORWARD
    price = black76_price(future=FORWARD, strike=strike, years=0.05, rate=RATE, vol=0.17, is_call=is_call)

    chain = implied_vol_and_greeks(price=price, future=FORWARD, strike=strike, years=0.05, rate=RATE,
                                   is_call=is_call)

    direct = black76_greeks(future=FORWARD, strike=strike, years=0.05, rate=RATE, vol=0.17, is_call=is_call)
    np.testing.assert_allclose(chain.iv, 0.17, atol=1e-12)
    for name in direct._fields:
        np.testing.assert_allclose(getattr(chain, name), getattr(direct, name), rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("case, price, future, strike, years, is_call", [
    ("below discounted intrinsic", 990.0, 26000.0, 25000.0, 0.05, True),
    ("put below discounted intrinsic", 990.0, 25000.0, 26000.0, 0.05, False),
    ("zero time value", 1000.0 * np.exp(-RATE * 0.05), 26000.0, 25000.0, 0.05, True),
    ("call at the discounted forward", 26000.0 * np.exp(-RATE * 0.05), 26000.0, 25000.0, 0.05, True),
    ("put above the discounted strike", 25000.0, 26000.0, 25000.0, 0.05, False),
    ("missing price", np.nan, 26000.0, 26000.0, 0.05, True),
    ("zero price", 0.0, 26000.0, 26500.0, 0.05, True),
    ("negative price", -1.0, 26000.0, 26500.0, 0.05, True),
    ("zero forward", 100.0, 0.0, 26500.0, 0.05, True),
    ("negative strike", 100.0, 26000.0, -26500.0, 0.05, True),
    ("expired", 100.0, 26000.0, 26000.0, 0.0, True),
    ("negative time", 100.0, 26000.0, 26000.0, -0.01, True),
    ("missing forward", 100.0, np.nan, 26000.0, 0.05, True),
])
def test_no_volatility_is_made_up(case, price, future, strike, years, is_call):
    chain = implied_vol_and_greeks(price=[price, 300.0], future=[future, 26000.0], strike=[strike, 26000.0],
                                   years=[years, 0.05], rate=RATE, is_call=[is_call, True])

    assert all(np.isnan(getattr(chain, name)[0]) for name in chain._fields), case
    assert not any(np.isnan(getattr(chain, name)[1]) for name in chain._fields)  # its neighbour is unharmed
    assert implied_vol(price=price, future=future, strike=strike, years=years, rate=RATE,
                       option_type="CE" if is_call else "PE") is None


def test_a_missing_or_crossed_quote_has_no_mid_and_so_no_volatility():
    mid = quote_mid(bid=[100.0, np.nan, 101.0, 0.0, 100.0], ask=[101.0, 101.0, 100.0, 101.0, 100.0])

    np.testing.assert_array_equal(np.isnan(mid), [False, True, True, True, False])
    assert mid[0] == 100.5
    iv = implied_vols(price=mid, future=FORWARD, strike=FORWARD, years=0.05, rate=RATE, is_call=True)
    np.testing.assert_array_equal(np.isnan(iv), np.isnan(mid))


def test_scalar_functions_are_the_array_engine_on_one_option():
    price = black76(future=26100.0, strike=26500.0, years=0.05, rate=RATE, vol=0.17, option_type="CE")

    assert price == pytest.approx(float(black76_price(future=26100.0, strike=26500.0, years=0.05, rate=RATE,
                                                      vol=0.17, is_call=True)), rel=1e-14)
    assert implied_vol(price=price, future=26100.0, strike=26500.0, years=0.05, rate=RATE,
                       option_type="CE") == pytest.approx(0.17, abs=1e-12)
    with pytest.raises(ValueError):
        black76(future=26100.0, strike=26500.0, years=0.05, rate=RATE, vol=0.17, option_type="FUT")


def test_an_option_at_its_expiry_close_is_worth_its_discounted_intrinsic_value():
    price = black76_price(future=26000.0, strike=[25500.0, 26500.0], years=0.0, rate=RATE, vol=0.2,
                          is_call=[True, False])

    np.testing.assert_allclose(price, [500.0, 500.0])
