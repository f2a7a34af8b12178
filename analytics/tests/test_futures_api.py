"""The futures endpoints over HTTP: JWT, 400s naming the parameter, 404s, seed 004's shapes and the schema."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft7Validator

from analytics import urls
from analytics.tests.futures_factory import NEAR, NEXT, future_series_create, ist
from brokers.tests.fixtures import bearer
from budhitrade.schema import OPERATIONS, Answers

pytestmark = [pytest.mark.django_db, pytest.mark.urls("analytics.urls")]

SIGNALS, ROLLOVER = "/futures/position-signals", "/futures/rollover-metrics"
LATEST = ist(date(2026, 11, 20), 15, 29)
NO_DATA = "No futures data for the symbol (or the contract asked for) in the window."


@pytest.fixture
def client(api, make_user):
    api.credentials(HTTP_AUTHORIZATION=bearer(make_user()))
    return api


@pytest.fixture
def session():
    """Two hours of NIFTY's near and next months, one row a minute, to 15:29 IST."""
    start = LATEST - timedelta(minutes=119)
    future_series_create(start=start, closes=[24500 + (index % 9) - 4 for index in range(120)],
                         ois=[5_000_000 + 1000 * ((index * 7) % 11) for index in range(120)], contract=NEAR)
    future_series_create(start=start, closes=[24600] * 120, ois=[2_000_000] * 120, contract=NEXT)


@pytest.fixture(scope="module")
def document():
    with pytest.MonkeyPatch.context() as patch:
        for key in ("PositionSignalsView.get", "RolloverMetricsView.get"):
            patch.setitem(OPERATIONS, key, Answers(extra={404: NO_DATA}))
        futures = [pattern for pattern in urls.urlpatterns if str(pattern.pattern).startswith("futures/")]
        return SchemaGenerator(patterns=futures).get_schema(request=None, public=True)


def _draft7(schema):
    """OpenAPI 3.0's `nullable` as JSON Schema's null type, so Draft 7 reads it."""
    if isinstance(schema, list):
        return [_draft7(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted = {key: _draft7(value) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") and "type" in schema:
        converted["type"] = [schema["type"], "null"]
    return converted


def _validate(document, route: str, response):
    schema = document["paths"][route]["get"]["responses"][str(response.status_code)]["content"]["application/json"]
    validator = Draft7Validator(_draft7({**schema["schema"], "components": document["components"]}))
    assert [error.message for error in validator.iter_errors(response.json())] == []


def test_position_signals_in_seed_004s_shape(client, session, document, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # the user, then three reads
        response = client.get(SIGNALS, {"symbol": "nifty50", "timeframe": "5min"})

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("status", "symbol", "timeframe", "hours", "contract", "expiry")} == {
        "status": "success", "symbol": "NIFTY", "timeframe": "5min", "hours": 6, "contract": NEAR,
        "expiry": "2026-11-24"}
    assert len(body["series"]) == 24 and body["series"][-1]["time"] == "2026-11-20T09:55:00Z"
    row = body["series"][-1]
    assert set(row) >= {"time", "contract", "close", "open_interest", "price_change_pct", "oi_change_pct",
                        "position_signal", "signal_strength"}
    assert isinstance(row["close"], float) and isinstance(row["open_interest"], int)
    assert body["series"][0]["price_change_pct"] is None  # the contract's first bar
    _validate(document, SIGNALS, response)


def test_position_signals_for_a_named_contract_and_the_defaults(client, session):
    body = client.get(SIGNALS, {"symbol": "NIFTY", "contract": NEXT.lower(), "hours": "1"}).json()

    assert (body["contract"], body["timeframe"], body["hours"]) == (NEXT, "5min", 1)
    assert len(body["series"]) == 12
    assert {row["position_signal"] for row in body["series"]} == {"NEUTRAL"}  # a flat contract


def test_rollover_metrics_in_seed_004s_shape(client, session, document, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.get(ROLLOVER, {"symbol": "NIFTY"})

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["symbol"], body["bucket_time"], body["time"]) == (
        "success", "NIFTY", int(LATEST.timestamp()), "2026-11-20T09:59:00Z")
    assert [row["expiry"] for row in body["expiries"]] == ["2026-11-24", "2026-12-29"]
    assert round(sum(row["oi_pct"] for row in body["expiries"]), 1) == 100.0
    assert [row["days_to_expiry"] for row in body["expiries"]] == [4, 39]
    assert body["expiries"][0]["rollover_pressure"] > 0 and body["expiries"][1]["rollover_pressure"] == 0.0
    _validate(document, ROLLOVER, response)


@pytest.mark.parametrize("route", [SIGNALS, ROLLOVER])
def test_a_jwt_is_required(api, session, route):
    response = api.get(route, {"symbol": "NIFTY"})

    assert response.status_code == 401
    assert set(response.json()) >= {"detail", "status_code"}


@pytest.mark.parametrize("route, query, parameter", [
    (SIGNALS, {}, "symbol"),
    (SIGNALS, {"symbol": "SEN$EX"}, "symbol"),
    (SIGNALS, {"symbol": "NIFTY", "timeframe": "2min"}, "timeframe"),
    (SIGNALS, {"symbol": "NIFTY", "hours": "0"}, "hours"),
    (SIGNALS, {"symbol": "NIFTY", "hours": "1.5"}, "hours"),
    (SIGNALS, {"symbol": "NIFTY", "hours": "721"}, "hours"),
    (SIGNALS, {"symbol": "NIFTY", "contract": "NIFTY 26 NOV'); --"}, "contract"),
    (ROLLOVER, {}, "symbol"),
    (ROLLOVER, {"symbol": "FIN NIFTY/W"}, "symbol"),
], ids=lambda value: value if isinstance(value, str) and not value.startswith("/") else None)
def test_a_bad_parameter_is_a_400_naming_it(client, session, document, route, query, parameter):
    response = client.get(route, query)

    assert response.status_code == 400
    body = response.json()
    assert body["status_code"] == 400 and list(body["errors"]) == [parameter] and parameter in body["detail"]
    _validate(document, route, response)


@pytest.mark.parametrize("route, query, says", [
    (SIGNALS, {"symbol": "BANKNIFTY"}, "No futures data for BANKNIFTY"),
    (SIGNALS, {"symbol": "NIFTY", "contract": "NIFTY26OCTFUT"}, "No NIFTY26OCTFUT futures data"),
    (ROLLOVER, {"symbol": "BANKNIFTY"}, "No futures data for BANKNIFTY"),
    (ROLLOVER, {"symbol": "finnifty"}, "No futures data for FINNIFTY"),
])
def test_a_symbol_or_contract_with_no_data_is_a_404_saying_so(client, session, document, route, query, says):
    response = client.get(route, query)

    assert response.status_code == 404
    assert response.json()["detail"].startswith(says) and response.json()["status_code"] == 404
    _validate(document, route, response)


def test_the_schema_documents_each_parameter_and_status(document):
    signals = document["paths"][SIGNALS]["get"]
    assert {parameter["name"] for parameter in signals["parameters"]} == {"symbol", "timeframe", "contract", "hours"}
    assert {"200", "400", "401", "404"} <= set(signals["responses"])
    assert {"200", "400", "401", "404"} <= set(document["paths"][ROLLOVER]["get"]["responses"])
