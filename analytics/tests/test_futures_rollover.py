"""Rollover metrics: OI shares that sum to 100, IST days to expiry, and the near month's rollover pressure."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from analytics.futures import ROLLOVER_WINDOW_DAYS, oi_shares, rollover_metrics, rollover_pressure
from analytics.tests.futures_factory import EXPIRIES, FAR, NEAR, NEXT, future_snapshot_create, ist
from budhitrade.errors import NotFound


def _snapshot(moment, ois: dict[str, int], underlying="NIFTY"):
    for contract, oi in ois.items():
        future_snapshot_create(bucket=moment, close=24500, oi=oi, contract=contract, underlying=underlying)


def test_three_equal_shares_still_sum_to_exactly_100():
    assert oi_shares([1, 1, 1]) == [Decimal("33.4"), Decimal("33.3"), Decimal("33.3")]


def test_shares_always_sum_to_1000_tenths_each_within_a_tenth_of_exact():
    generator = random.Random(4)
    for _ in range(500):
        totals = [generator.choice([0, 1, generator.randint(1, 10**8)]) for _ in range(generator.randint(1, 5))]
        if not sum(totals):
            continue
        shares = oi_shares(totals)
        assert sum(share * 10 for share in shares) == 1000
        assert round(float(sum(shares)), 1) == 100.0
        for total, share in zip(totals, shares):
            assert abs(Fraction(share) - Fraction(total * 100, sum(totals))) < Fraction(1, 10)


def test_no_open_interest_gives_zero_shares():
    assert oi_shares([0, 0]) == [Decimal("0.0"), Decimal("0.0")]


def test_pressure_is_zero_before_the_expiry_week_and_the_whole_share_on_expiry_day():
    assert rollover_pressure(near_share=0.8, days_to_expiry=18) == 0.0
    assert rollover_pressure(near_share=0.8, days_to_expiry=ROLLOVER_WINDOW_DAYS) == 0.0
    assert rollover_pressure(near_share=0.8, days_to_expiry=0) == 0.8
    week = [rollover_pressure(near_share=0.8, days_to_expiry=days) for days in range(ROLLOVER_WINDOW_DAYS, -1, -1)]
    assert week == sorted(week) and len(set(week)) == len(week)  # rising every day of the expiry week
    assert rollover_pressure(near_share=0.9, days_to_expiry=3) > rollover_pressure(near_share=0.4, days_to_expiry=3)
    assert all(0 <= rollover_pressure(near_share=share / 10, days_to_expiry=days) <= 1
               for share in range(11) for days in range(40))


@pytest.mark.django_db
def test_metrics_at_the_latest_bucket_per_unexpired_expiry():
    moment = ist(date(2026, 11, 20), 15, 29)
    _snapshot(moment - timedelta(minutes=1), {NEAR: 1, NEXT: 1, FAR: 1})  # an older bucket is not read
    _snapshot(moment, {NEAR: 5_000_000, NEXT: 2_000_000, FAR: 630_000})
    _snapshot(moment + timedelta(minutes=5), {NEAR: 10}, underlying="BANKNIFTY")

    answer = rollover_metrics(underlying="NIFTY")

    assert answer["bucket_time"] == int(moment.timestamp())
    near, following, far = answer["expiries"]
    assert [row["expiry"] for row in answer["expiries"]] == [EXPIRIES[NEAR], EXPIRIES[NEXT], EXPIRIES[FAR]]
    assert [row["contract"] for row in answer["expiries"]] == [NEAR, NEXT, FAR]
    assert [row["total_oi"] for row in answer["expiries"]] == [5_000_000, 2_000_000, 630_000]
    assert [row["oi_pct"] for row in answer["expiries"]] == [Decimal("65.5"), Decimal("26.2"), Decimal("8.3")]
    assert [row["days_to_expiry"] for row in answer["expiries"]] == [4, 39, 67]
    assert near["rollover_pressure"] == pytest.approx(5 / 7.63 * (1 - 4 / 7), abs=1e-4)
    assert following["rollover_pressure"] == far["rollover_pressure"] == 0.0


@pytest.mark.django_db
def test_pressure_rises_through_the_expiry_week_while_the_near_share_holds():
    pressures = []
    for day in (date(2026, 11, 16), date(2026, 11, 18), date(2026, 11, 20), date(2026, 11, 23), date(2026, 11, 24)):
        _snapshot(ist(day, 15, 29), {NEAR: 7_000_000, NEXT: 3_000_000})
        pressures.append(rollover_metrics(underlying="NIFTY")["expiries"][0]["rollover_pressure"])

    assert pressures[0] == 0.0  # eight days out
    assert pressures == sorted(pressures) and pressures[1] < pressures[2] < pressures[3] < pressures[4]
    assert pressures[-1] == 0.7  # expiry day: the whole near share


@pytest.mark.django_db
def test_pressure_falls_as_the_near_month_rolls_over():
    day = date(2026, 11, 23)
    _snapshot(ist(day, 10, 0), {NEAR: 8_000_000, NEXT: 2_000_000})
    before = rollover_metrics(underlying="NIFTY")["expiries"][0]["rollover_pressure"]
    _snapshot(ist(day, 15, 0), {NEAR: 3_000_000, NEXT: 7_000_000})
    after = rollover_metrics(underlying="NIFTY")["expiries"][0]["rollover_pressure"]

    assert before > after > 0


@pytest.mark.django_db
def test_days_to_expiry_are_ist_calendar_days_and_expired_contracts_are_left_out():
    # 19:00 UTC on the 24th is 00:30 IST on the 25th: NEAR has expired, though still stored.
    _snapshot(ist(date(2026, 11, 25), 0, 30), {NEAR: 4_000_000, NEXT: 1_000_000, FAR: 1_000_000})

    expiries = rollover_metrics(underlying="NIFTY")["expiries"]

    assert [(row["contract"], row["days_to_expiry"], row["oi_pct"]) for row in expiries] == [
        (NEXT, 34, Decimal("50.0")), (FAR, 62, Decimal("50.0"))]
    assert expiries[0]["rollover_pressure"] == 0.0


@pytest.mark.django_db
def test_no_open_interest_anywhere_gives_zero_shares_and_pressure():
    _snapshot(ist(date(2026, 11, 24), 10, 0), {NEAR: 0, NEXT: 0})

    expiries = rollover_metrics(underlying="NIFTY")["expiries"]

    assert [(row["oi_pct"], row["rollover_pressure"]) for row in expiries] == [(0, 0.0), (0, 0.0)]


@pytest.mark.django_db
def test_metrics_are_two_queries_whatever_the_history(django_assert_num_queries):
    for day in range(10):
        _snapshot(ist(date(2026, 11, 20) - timedelta(days=day), 15, 29), {NEAR: 10 + day, NEXT: 5})
    with django_assert_num_queries(2):
        rollover_metrics(underlying="NIFTY")


@pytest.mark.django_db
def test_no_data_or_nothing_unexpired_is_not_found():
    with pytest.raises(NotFound, match="No futures data for NIFTY"):
        rollover_metrics(underlying="NIFTY")
    _snapshot(ist(date(2026, 11, 25), 10, 0), {NEAR: 100})
    with pytest.raises(NotFound, match="No unexpired NIFTY"):
        rollover_metrics(underlying="NIFTY")
