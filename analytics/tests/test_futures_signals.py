"""Futures bars and position signals: each signal case, the flat case, strength, bars, window, default contract."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.futures import FutureBar, PositionSignal, position_signal_rows, position_signals
from analytics.tests.futures_factory import NEAR, NEXT, future_series_create, future_snapshot_create, ist
from budhitrade.errors import NotFound

DAY = date(2026, 11, 20)  # a Friday; NEAR expires on Tuesday the 24th
MINUTE, FIVE, FIFTEEN = 60, 300, 900


def _bars(closes, ois, *, start=1_000_000_020) -> list[FutureBar]:
    return [FutureBar(start=start + 60 * index, open=Decimal(str(close)), high=Decimal(str(close)),
                      low=Decimal(str(close)), close=Decimal(str(close)), volume=0, oi=oi)
            for index, (close, oi) in enumerate(zip(closes, ois))]


def _rows(closes, ois):
    bars = _bars(closes, ois)
    return position_signal_rows(bars=bars, since=bars[0].start, contract=NEAR)


@pytest.mark.parametrize("closes, ois, signal", [
    ((100, 101), (1000, 1100), PositionSignal.LONG_BUILDUP),
    ((100, 99), (1000, 1100), PositionSignal.SHORT_BUILDUP),
    ((100, 101), (1000, 900), PositionSignal.SHORT_COVERING),
    ((100, 99), (1000, 900), PositionSignal.LONG_UNWINDING),
], ids=lambda value: value.value if isinstance(value, PositionSignal) else None)
def test_each_bar_is_read_against_the_previous_bar(closes, ois, signal):
    rows = _rows(closes, ois)

    assert rows[1]["position_signal"] == signal.value
    assert rows[1]["price_change_pct"] == pytest.approx((closes[1] - closes[0]) * 100 / closes[0])
    assert rows[1]["oi_change_pct"] == pytest.approx((ois[1] - ois[0]) * 100 / ois[0])
    assert rows[1]["signal_strength"] == 0.5  # a series of one change: that change is the typical one


def test_a_sequence_reads_each_case_in_turn():
    rows = _rows((100, 101, 100, 101, 100), (1000, 1100, 1200, 1100, 1000))

    assert [row["position_signal"] for row in rows] == [
        "NEUTRAL", "LONG_BUILDUP", "SHORT_BUILDUP", "SHORT_COVERING", "LONG_UNWINDING"]


@pytest.mark.parametrize("closes, ois", [((100, 100), (1000, 1100)), ((100, 101), (1000, 1000)),
                                         ((100, 100), (1000, 1000))], ids=["flat price", "flat OI", "both flat"])
def test_an_unchanged_close_or_oi_is_neutral_with_no_strength(closes, ois):
    row = _rows(closes, ois)[1]

    assert (row["position_signal"], row["signal_strength"]) == ("NEUTRAL", 0.0)
    assert row["price_change_pct"] == pytest.approx((closes[1] - closes[0]) * 100 / closes[0])


def test_the_contracts_first_bar_has_no_change_and_is_neutral():
    row = _rows((100,), (1000,))[0]

    assert (row["price_change_pct"], row["oi_change_pct"], row["position_signal"], row["signal_strength"]) == (
        None, None, "NEUTRAL", 0.0)


def test_strength_scores_each_change_against_the_series_typical_change():
    # Price changes 1%, 1%, 2%; OI changes 10%, 10%, 20%: the typical changes are 1% and 10%.
    rows = _rows((Decimal("100"), Decimal("101"), Decimal("102.01"), Decimal("104.0502")), (1000, 1100, 1210, 1452))

    assert [row["signal_strength"] for row in rows] == [0.0, 0.5, 0.5, pytest.approx(2 / 3, abs=1e-4)]


def test_strength_needs_both_changes_large():
    # The last bar moves the price 10 times its typical change but the OI only its typical change.
    rows = _rows((Decimal("100"), Decimal("101"), Decimal("102.01"), Decimal("112.211")), (1000, 1100, 1210, 1331))

    assert rows[3]["signal_strength"] == pytest.approx((10 / 11 * 0.5) ** 0.5, abs=1e-4)
    assert rows[3]["signal_strength"] < 10 / 11  # one large change alone is not a strong signal


def test_a_change_from_zero_oi_has_no_percentage_and_scores_one_on_that_axis():
    row = _rows((100, 101), (0, 500))[1]

    assert (row["oi_change_pct"], row["position_signal"]) == (None, "LONG_BUILDUP")
    assert row["signal_strength"] == pytest.approx(0.5 ** 0.5, abs=1e-4)


def test_strength_stays_within_zero_and_one():
    generator = random.Random(12)
    for _ in range(50):
        closes = [Decimal(str(round(generator.uniform(100, 30000), 2))) for _ in range(40)]
        ois = [generator.choice([0, generator.randint(0, 10**7)]) for _ in range(40)]
        rows = _rows(closes, ois)
        assert all(0.0 <= row["signal_strength"] <= 1.0 for row in rows)
        assert any(row["signal_strength"] > 0 for row in rows)


@pytest.mark.django_db
def test_five_minute_bars_are_aggregated_from_one_minute_rows():
    start = ist(DAY, 10, 0)
    for minute, (open_, high, low, close, volume, oi) in enumerate([
            (100, 103, 99, 101, 10, 500), (101, 106, 100, 104, 20, 520), (104, 104, 95, 96, 30, 510),
            (96, 99, 96, 98, 40, 530), (98, 100, 97, 99, 50, 540), (99, 99, 99, 102, 60, 600)]):
        future_snapshot_create(bucket=start + timedelta(minutes=minute), open=open_, high=high, low=low,
                               close=close, volume=volume, oi=oi)

    series = position_signals(underlying="NIFTY", seconds=FIVE, contract=None, hours=1)["series"]

    first, second = series
    assert first["time"] == "2026-11-20T04:30:00Z" and first["bucket_time"] == int(start.timestamp())
    assert (first["open"], first["high"], first["low"], first["close"]) == (100, 106, 95, 99)
    assert (first["volume"], first["open_interest"]) == (50, 540)  # the last row's day volume and OI
    assert second["time"] == "2026-11-20T04:35:00Z" and second["open_interest"] == 600
    assert second["price_change_pct"] == pytest.approx(3 * 100 / 99, abs=1e-4)
    assert second["position_signal"] == "LONG_BUILDUP"


@pytest.mark.django_db
@pytest.mark.parametrize("seconds, hours, bars", [(MINUTE, 1, 60), (FIVE, 1, 12), (FIFTEEN, 2, 8)])
def test_the_window_counts_back_from_the_latest_bucket_with_a_baseline_before_it(seconds, hours, bars):
    future_series_create(start=ist(DAY, 9, 15), closes=[100 + index % 7 for index in range(375)],
                         ois=[1000 + index for index in range(375)])

    series = position_signals(underlying="NIFTY", seconds=seconds, contract=None, hours=hours)["series"]

    assert len(series) == bars
    last = int(ist(DAY, 15, 29).timestamp()) // seconds * seconds
    assert series[-1]["bucket_time"] == last and series[0]["bucket_time"] == last - (bars - 1) * seconds
    assert series[0]["oi_change_pct"] is not None  # the bar before the window was read as its baseline


@pytest.mark.django_db
def test_an_answer_is_three_queries_bounded_by_the_window_whatever_the_history(django_assert_num_queries):
    for day in range(5):
        future_series_create(start=ist(DAY - timedelta(days=day), 9, 15), closes=[100 + day] * 60,
                             ois=[1000 + day] * 60)
        future_series_create(start=ist(DAY - timedelta(days=day), 9, 15), closes=[200] * 60, ois=[50] * 60,
                             contract=NEXT)

    with CaptureQueriesContext(connection) as queries:
        answer = position_signals(underlying="NIFTY", seconds=MINUTE, contract=None, hours=6)
    assert len(queries) == 3
    assert '"bucket" >=' in queries[-1]["sql"] and '"bucket" <=' in queries[-1]["sql"]
    assert len(answer["series"]) == 60 and answer["contract"] == NEAR
    with django_assert_num_queries(2):
        position_signals(underlying="NIFTY", seconds=MINUTE, contract=NEXT, hours=6)


@pytest.mark.django_db
@pytest.mark.parametrize("latest, current", [
    (ist(DAY, 15, 29), NEAR),                         # a normal day: the nearest expiry
    (ist(date(2026, 11, 24), 15, 29), NEAR),          # expiry day: it trades to 15:30
    (ist(date(2026, 11, 25), 9, 15), NEXT),           # the day after: the next month, though NEAR is still stored
    (ist(date(2026, 11, 25), 0, 30), NEXT),           # 19:00 UTC on the 24th is already the 25th in IST
], ids=["normal day", "expiry day", "after expiry", "IST date"])
def test_the_default_contract_is_the_current_month(latest, current):
    for contract in (NEAR, NEXT):
        future_series_create(start=latest - timedelta(minutes=1), closes=[100, 101], ois=[10, 11],
                             contract=contract)

    answer = position_signals(underlying="NIFTY", seconds=MINUTE, contract=None, hours=6)

    assert answer["contract"] == current
    assert {row["contract"] for row in answer["series"]} == {current}


@pytest.mark.django_db
def test_only_contracts_stored_at_the_latest_bucket_can_be_the_default():
    future_series_create(start=ist(DAY, 10, 0), closes=[100, 101], ois=[10, 11], contract=NEAR)
    future_series_create(start=ist(DAY, 10, 1), closes=[200, 201], ois=[10, 11], contract=NEXT)

    assert position_signals(underlying="NIFTY", seconds=MINUTE, contract=None, hours=6)["contract"] == NEXT


@pytest.mark.django_db
def test_nothing_to_answer_is_not_found():
    with pytest.raises(NotFound, match="No futures data for NIFTY"):
        position_signals(underlying="NIFTY", seconds=MINUTE, contract=None, hours=6)
    future_series_create(start=ist(DAY, 10, 0), closes=[100], ois=[10], contract=NEAR, underlying="BANKNIFTY")
    with pytest.raises(NotFound, match="No futures data for NIFTY"):
        position_signals(underlying="NIFTY", seconds=MINUTE, contract=None, hours=6)
    with pytest.raises(NotFound, match=NEXT):
        position_signals(underlying="BANKNIFTY", seconds=MINUTE, contract=NEXT, hours=6)
    future_series_create(start=ist(date(2026, 11, 25), 10, 0), closes=[100], ois=[10], contract=NEAR)
    with pytest.raises(NotFound, match="No unexpired NIFTY"):
        position_signals(underlying="NIFTY", seconds=MINUTE, contract=None, hours=6)
