"""GET /fo/strike-distribution in CONTRACT's shape, with values known from the chain the factory priced."""

from __future__ import annotations

import pytest

from analytics.tests.chain_factory import (
    CALL_OI,
    CALL_VOLUME,
    DAY,
    EXPIRY,
    FORWARD,
    NEXT_EXPIRY,
    OPENING_CALL_OI,
    OPENING_PUT_OI,
    PUT_OI,
    PUT_VOLUME,
    SPOT,
    STRIKES,
    ist,
    known_chain_create,
    smile,
)
from analytics.timeframes import unix_seconds

pytestmark = pytest.mark.django_db
URL = "/fo/strike-distribution"


def test_iv_of_both_sides_of_the_nearest_expiry_at_the_latest_bucket(user_api, django_assert_max_num_queries):
    buckets = known_chain_create()
    with django_assert_max_num_queries(4):  # the user, then latest, expiries, rows
        response = user_api.get(f"{URL}?symbol=NIFTY&timeframe=1min&indicator=iv")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {key: body[key] for key in ("status", "symbol", "timeframe", "indicator", "option_side", "bucket_time",
                                       "underlying_price")} == {
        "status": "success", "symbol": "NIFTY", "timeframe": "1min", "indicator": "iv", "option_side": "both",
        "bucket_time": unix_seconds(buckets["now"]), "underlying_price": SPOT}
    (series,) = body["series"]
    assert series["expiry"] == EXPIRY.isoformat()
    assert series["future_price"] == FORWARD and series["atm_strike"] == 25050
    assert series["points"] == [
        {"strike": strike, "call": pytest.approx(smile(strike)), "put": pytest.approx(smile(strike)), "value": None,
         "call_oi": CALL_OI[strike], "put_oi": PUT_OI[strike], "call_volume": CALL_VOLUME[strike],
         "put_volume": PUT_VOLUME[strike]} for strike in STRIKES]


def test_a_greek_of_the_calls_only_leaves_the_puts_null(user_api):
    known_chain_create()
    points = user_api.get(f"{URL}?symbol=NIFTY&indicator=delta&option_side=call").json()["series"][0]["points"]
    deltas = [point["call"] for point in points]
    assert all(point["put"] is None for point in points)
    assert deltas == sorted(deltas, reverse=True) and 0 < deltas[-1] < deltas[0] < 1
    # ATM on the forward: a call's delta is close to a half.
    assert deltas[STRIKES.index(25050)] == pytest.approx(0.5, abs=0.03)


def test_oi_change_is_against_the_session_first_bucket(user_api, django_assert_max_num_queries):
    known_chain_create()
    with django_assert_max_num_queries(6):  # and the session's first bucket, its OI
        body = user_api.get(f"{URL}?symbol=NIFTY&indicator=oi_change").json()
    points = body["series"][0]["points"]
    assert [point["call"] for point in points] == [CALL_OI[s] - OPENING_CALL_OI[s] for s in STRIKES]
    assert [point["put"] for point in points] == [PUT_OI[s] - OPENING_PUT_OI[s] for s in STRIKES]


def test_pcr_fills_value_per_strike(user_api):
    known_chain_create()
    points = user_api.get(f"{URL}?symbol=NIFTY&indicator=pcr").json()["series"][0]["points"]
    assert [point["value"] for point in points] == [pytest.approx(PUT_OI[s] / CALL_OI[s]) for s in STRIKES]
    assert all(point["call"] is None and point["put"] is None for point in points)


def test_several_expiries_and_the_plain_expiry_parameter(user_api):
    known_chain_create()
    body = user_api.get(f"{URL}?symbol=NIFTY&indicator=oi&expiry[]={NEXT_EXPIRY}&expiry[]={EXPIRY}").json()
    assert [series["expiry"] for series in body["series"]] == [EXPIRY.isoformat(), NEXT_EXPIRY.isoformat()]
    assert body["series"][1]["future_price"] == 25090.0
    assert {point["call"] for point in body["series"][1]["points"]} == {10}
    same = user_api.get(f"{URL}?symbol=NIFTY&indicator=oi&expiry={EXPIRY},{NEXT_EXPIRY}").json()
    assert same == body


def test_bucket_time_reads_the_timeframe_bucket_close(user_api):
    buckets = known_chain_create()
    # 09:15's five-minute bucket holds only the 09:15 snapshot; any second inside it names it.
    inside = unix_seconds(buckets["opening"]) + 130
    body = user_api.get(f"{URL}?symbol=NIFTY&timeframe=5min&indicator=oi&bucket_time={inside}").json()
    assert body["bucket_time"] == unix_seconds(buckets["opening"])
    assert [point["call"] for point in body["series"][0]["points"]] == [OPENING_CALL_OI[s] for s in STRIKES]


def test_a_longer_timeframe_is_the_state_at_its_last_minute(user_api):
    known_chain_create()
    from analytics.tests.chain_factory import option_chain_create

    option_chain_create(bucket=ist(DAY, 10, 3), strikes=STRIKES, forward=25070.0, oi=lambda strike, side: 77)
    body = user_api.get(f"{URL}?symbol=NIFTY&timeframe=5min&indicator=oi").json()
    assert body["bucket_time"] == unix_seconds(ist(DAY, 10, 0))  # labelled by its start
    assert {point["call"] for point in body["series"][0]["points"]} == {77}  # its state at 10:03


def test_a_bucket_time_without_snapshots_is_404(user_api):
    known_chain_create()
    response = user_api.get(f"{URL}?symbol=NIFTY&bucket_time={unix_seconds(ist(DAY, 12, 0))}")
    assert response.status_code == 404
    assert "No NIFTY option snapshots in the 5min bucket" in response.json()["detail"]
