"""Broker-neutral option arithmetic: NSE's expiry calendar, time to expiry, Black-76 and implied volatility."""

from datetime import date, datetime

import pytest

from brokers.calendar import IST
from brokers.options import (
    black76,
    expiry_close,
    future_price,
    implied_vol,
    is_monthly_expiry,
    monthly_expiries,
    weekly_expiry,
    years_to_expiry,
)


def test_monthly_expiries_fall_on_the_last_tuesday_and_weeklies_on_the_next_tuesday():
    assert monthly_expiries(date(2026, 11, 16), 3) == [date(2026, 11, 24), date(2026, 12, 29), date(2027, 1, 26)]
    assert monthly_expiries(date(2026, 11, 25), 1) == [date(2026, 12, 29)]
    assert weekly_expiry(date(2026, 11, 16)) == date(2026, 11, 17)
    assert weekly_expiry(date(2026, 11, 17)) == date(2026, 11, 17)
    assert is_monthly_expiry(date(2026, 11, 24)) and not is_monthly_expiry(date(2026, 11, 17))


def test_time_to_expiry_runs_to_the_expiry_close_and_stops_at_zero():
    assert expiry_close(date(2026, 11, 24)) == datetime(2026, 11, 24, 15, 30, tzinfo=IST)
    assert years_to_expiry(date(2026, 11, 24), datetime(2026, 11, 23, 15, 30, tzinfo=IST)) == pytest.approx(1 / 365)
    assert years_to_expiry(date(2026, 11, 24), datetime(2026, 11, 25, 9, 15, tzinfo=IST)) == 0


@pytest.mark.parametrize("option_type, strike", [("CE", 26500), ("PE", 25500)])
def test_implied_volatility_reads_back_the_volatility_that_priced_the_option(option_type, strike):
    future = future_price(26000, 0.05, 0.065)
    premium = black76(future=future, strike=strike, years=0.05, rate=0.065, vol=0.17, option_type=option_type)

    assert implied_vol(price=premium, future=future, strike=strike, years=0.05, rate=0.065,
                       option_type=option_type) == pytest.approx(0.17, abs=1e-6)


def test_a_premium_below_intrinsic_value_has_no_implied_volatility():
    assert implied_vol(price=1.0, future=26000, strike=25000, years=0.05, rate=0.065, option_type="CE") is None
