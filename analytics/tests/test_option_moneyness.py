"""GET /fo/moneyness-series and /fo/straddle-series: labels follow each bucket's own ATM strike as the forward moves."""

from __future__ import annotations

import pytest

from analytics.tests.chain_factory import DAY, PREVIOUS_DAY, ist, option_chain_create, premium
from analytics.timeframes import unix_seconds

pytestmark = pytest.mark.django_db

STRIKES = list(range(24800, 25351, 50))
# 10:00 to 10:05, the forward climbing: ATM 25000, 25050, 25050, 25100, 25100, 25150.
FORWARDS = [25010.0, 25030.0, 25060.0, 25090.0, 25110.0, 25140.0]
ATMS = [25000, 25050, 25050, 25100, 25100, 25150]


def vol(strike: int) -> float:
    return 0.12 + (25350 - strike) / 100000


def oi(strike: int, side: str) -> int:
    return strike // 10 if side == "CE" else 30000 - strike


@pytest.fixture
def climbing():
    buckets = [ist(DAY, 10, minute) for minute in range(6)]
    for bucket, forward in zip(buckets, FORWARDS):
        option_chain_create(bucket=bucket, strikes=STRIKES, forward=forward, spot=forward - 20, vol=vol, oi=oi,
                            volume=lambda strike, side: 3)
    # Outside a one-hour window back from 10:05 (09:05 is its open end), and the Friday before.
    option_chain_create(bucket=ist(DAY, 9, 5), strikes=STRIKES, forward=25200.0, vol=0.5)
    option_chain_create(bucket=ist(PREVIOUS_DAY, 15, 29), strikes=STRIKES, forward=24000.0, vol=0.5)
    return buckets


def _labels(depth: int, atm: int, side: str) -> list[tuple[str, int]]:
    below = -50 if side == "call" else 50
    return ([("ATM", atm)] + [(f"ITM{k}", atm + below * k) for k in range(1, depth + 1)]
            + [(f"OTM{k}", atm - below * k) for k in range(1, depth + 1)])


def test_iv_by_moneyness_every_minute(climbing, user_api, django_assert_max_num_queries):
    # The user, then latest, expiries, the window's closes, the strikes listed, the rows near the forward.
    with django_assert_max_num_queries(6):
        response = user_api.get("/fo/moneyness-series?symbol=NIFTY50&timeframe=1min&indicator=iv&hours=1&depth=2")
    assert response.status_code == 200, response.content
    body = response.json()
    assert {key: body[key] for key in ("status", "symbol", "timeframe", "indicator", "option_side", "hours",
                                       "depth")} == {
        "status": "ok", "symbol": "NIFTY", "timeframe": "1min", "indicator": "iv", "option_side": "call",
        "hours": 1, "depth": 2}
    (series,) = body["series"]
    expected = [{"bucket_time": unix_seconds(bucket), "moneyness": label, "strike": strike,
                 "value": pytest.approx(vol(strike)), "volume": 3, "oi": oi(strike, "CE")}
                for bucket, atm in zip(climbing, ATMS) for label, strike in _labels(2, atm, "call")]
    assert series["data"] == expected


def test_puts_are_in_the_money_above_atm(climbing, user_api):
    body = user_api.get("/fo/moneyness-series?symbol=NIFTY&timeframe=1min&indicator=oi&option_side=put&hours=1"
                        "&depth=1").json()
    first = body["series"][0]["data"][:3]
    assert [(point["moneyness"], point["strike"], point["value"]) for point in first] == [
        ("ATM", 25000, 5000), ("ITM1", 25050, 30000 - 25050), ("OTM1", 24950, 30000 - 24950)]


def test_premiums_and_pcr_at_five_minutes(climbing, user_api):
    def get(indicator):
        return user_api.get(f"/fo/moneyness-series?symbol=NIFTY&timeframe=5min&indicator={indicator}&hours=1"
                            "&depth=1").json()["series"][0]["data"]

    # Two five-minute buckets: 10:00 (its state at 10:04, ATM 25100) and 10:05 (ATM 25150).
    premium_abs = get("premium_abs")
    assert [(point["bucket_time"], point["moneyness"], point["strike"]) for point in premium_abs] == [
        (unix_seconds(ist(DAY, 10, 0)), "ATM", 25100), (unix_seconds(ist(DAY, 10, 0)), "ITM1", 25050),
        (unix_seconds(ist(DAY, 10, 0)), "OTM1", 25150), (unix_seconds(ist(DAY, 10, 5)), "ATM", 25150),
        (unix_seconds(ist(DAY, 10, 5)), "ITM1", 25100), (unix_seconds(ist(DAY, 10, 5)), "OTM1", 25200)]
    atm_at_1004 = premium(forward=FORWARDS[4], strike=25100, bucket=climbing[4], side="CE", vol=vol(25100))
    assert premium_abs[0]["value"] == float(atm_at_1004)
    assert get("premium_pct")[0]["value"] == pytest.approx(float(atm_at_1004) / (FORWARDS[4] - 20) * 100)
    assert [point["value"] for point in get("pcr")[:3]] == [
        pytest.approx((30000 - strike) / (strike // 10)) for strike in (25100, 25050, 25150)]


def test_straddle_follows_the_atm_strike(climbing, user_api, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        response = user_api.get("/fo/straddle-series?symbol=NIFTY&timeframe=1min&hours=1")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "success" and body["expiry"] == "2026-12-01" and body["hours"] == 1
    expected = []
    for bucket, forward, atm in zip(climbing, FORWARDS, ATMS):
        call = premium(forward=forward, strike=atm, bucket=bucket, side="CE", vol=vol(atm))
        put = premium(forward=forward, strike=atm, bucket=bucket, side="PE", vol=vol(atm))
        expected.append({"bucket_time": unix_seconds(bucket), "atm_strike": atm, "call": float(call),
                         "put": float(put), "premium": float(call + put)})
    assert body["series"] == expected


def test_the_default_window_reaches_back_six_hours_from_the_latest_bucket(climbing, user_api):
    data = user_api.get("/fo/moneyness-series?symbol=NIFTY&timeframe=1min&depth=1").json()["series"][0]["data"]
    # 09:05 is inside six hours of 10:05, Friday's close is not.
    assert data[0]["bucket_time"] == unix_seconds(ist(DAY, 9, 5))
    assert len(data) == 7 * 3


def test_an_unlisted_strike_keeps_its_label_with_nulls(user_api):
    option_chain_create(bucket=ist(DAY, 10, 0), strikes=[25000, 25050, 25100], forward=25100.0)
    data = user_api.get("/fo/moneyness-series?symbol=NIFTY&timeframe=1min&depth=1").json()["series"][0]["data"]
    assert data[2] == {"bucket_time": unix_seconds(ist(DAY, 10, 0)), "moneyness": "OTM1", "strike": 25150,
                       "value": None, "volume": None, "oi": None}
