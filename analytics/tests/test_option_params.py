"""The option endpoints' refusals: a 400 naming each bad parameter, a 404 for no data, a 401 without a JWT."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from analytics.tests.chain_factory import EXPIRY, known_chain_create

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/fo/strike-distribution", "/fo/moneyness-series", "/fo/chain-summary", "/fo/straddle-series"]

BAD = [
    ("/fo/strike-distribution", "symbol=", "symbol"),
    ("/fo/strike-distribution", "symbol=NIFTY%27);--", "symbol"),
    ("/fo/strike-distribution", "symbol=NIFTY&timeframe=2min", "timeframe"),
    ("/fo/strike-distribution", "symbol=NIFTY&indicator=premium_abs", "indicator"),
    ("/fo/strike-distribution", "symbol=NIFTY&option_side=straddle", "option_side"),
    ("/fo/strike-distribution", "symbol=NIFTY&expiry[]=2026-13-01", "expiry[]"),
    ("/fo/strike-distribution", "symbol=NIFTY&bucket_time=yesterday", "bucket_time"),
    ("/fo/strike-distribution", "symbol=NIFTY&bucket_time=-5", "bucket_time"),
    ("/fo/strike-distribution", "symbol=NIFTY&" + "&".join(f"expiry[]=2026-12-{d:02d}" for d in range(1, 10)),
     "expiry[]"),
    ("/fo/moneyness-series", "symbol=NIFTY&indicator=theta", "indicator"),
    ("/fo/moneyness-series", "symbol=NIFTY&option_side=both", "option_side"),
    ("/fo/moneyness-series", "symbol=NIFTY&hours=0", "hours"),
    ("/fo/moneyness-series", "symbol=NIFTY&hours=1.5", "hours"),
    ("/fo/moneyness-series", "symbol=NIFTY&depth=21", "depth"),
    ("/fo/chain-summary", "symbol=NIFTY&expiry=2026-12-01,2026-12-08", "expiry"),
    ("/fo/chain-summary", "symbol=NIFTY&expiry=soon", "expiry"),
    ("/fo/straddle-series", "symbol=NIFTY&hours=721", "hours"),
    ("/fo/straddle-series", "symbol=NIFTY&timeframe=1h", "timeframe"),
]


@pytest.mark.parametrize(("url", "query", "parameter"), BAD)
def test_a_bad_parameter_is_a_400_naming_it(user_api, url, query, parameter):
    known_chain_create()
    response = user_api.get(f"{url}?{query}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status_code"] == 400
    assert list(body["errors"]) == [parameter]
    assert parameter.rstrip("[]") in body["detail"]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_symbol_with_no_snapshots_is_a_404_saying_so(user_api, url):
    known_chain_create()  # NIFTY only
    response = user_api.get(f"{url}?symbol=BANKNIFTY")
    assert response.status_code == 404
    assert response.json() == {"detail": "No option snapshots for BANKNIFTY yet.", "status_code": 404}


@pytest.mark.parametrize("url", ENDPOINTS)
def test_an_underlying_never_captured_is_a_404_not_a_400(user_api, url):
    known_chain_create()
    response = user_api.get(f"{url}?symbol=finnifty")
    assert response.status_code == 404
    assert response.json() == {"detail": "No option snapshots for FINNIFTY yet.", "status_code": 404}


@pytest.mark.parametrize("url", ENDPOINTS)
def test_an_expiry_not_stored_is_a_404_naming_it(user_api, url):
    known_chain_create()
    response = user_api.get(f"{url}?symbol=NIFTY&expiry=2027-01-26")
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "2027-01-26" in detail and EXPIRY.isoformat() in detail  # what is stored, so the caller can pick


@pytest.mark.parametrize("url", ENDPOINTS)
def test_every_endpoint_needs_a_jwt(url):
    response = APIClient().get(f"{url}?symbol=NIFTY")
    assert response.status_code == 401
    assert response.json()["status_code"] == 401


@pytest.mark.parametrize("url", ENDPOINTS)
def test_another_user_gets_the_same_market_wide_answer(user_api, other_api, url):
    known_chain_create()
    mine = user_api.get(f"{url}?symbol=NIFTY&hours=24")
    assert mine.status_code == 200
    assert other_api.get(f"{url}?symbol=NIFTY&hours=24").json() == mine.json()
