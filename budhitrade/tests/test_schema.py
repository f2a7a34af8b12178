"""The OpenAPI schema documents every status each operation can answer, each with its body.

The rules are the API's own (README, CONTRACT): every request can be malformed
(400), ask for something other than JSON (406), be too large (413) or rate
limited (429, with the X-RateLimit-* headers on every answer); one that
authenticates can be 401; one that names something by path or picks "the"
account can be 404; one with a body can be 415; one that needs the database or
Redis can be 503; one that waits on a broker can be 409 (session expired), 502,
503 and 504. test_schema_conformance.py checks the same against real answers.
"""

from __future__ import annotations

import pytest
from django.urls import path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from jsonschema import Draft7Validator
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from budhitrade import schema as schema_module
from budhitrade.schema import OPERATIONS, operation_key

METHODS = ("get", "post", "put", "patch", "delete")
RATE_LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")
BROKER_STATUSES = {"409", "502", "503", "504"}


@pytest.fixture(scope="module")
def document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _operations(document: dict):
    for route, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield route, method, item[method]


def _validator(document: dict, schema: dict) -> Draft7Validator:
    """A validator for one response schema whose `#/components/...` refs resolve in the document."""
    return Draft7Validator({**schema, "components": document["components"]})


def _required_statuses(operation: dict, method: str, view) -> set[str]:
    parameters = operation.get("parameters", [])
    required = {"400", "406", "413", "429"}
    if view.get_authenticators():
        required.add("401")
    if any(p["in"] == "path" for p in parameters) or any(
            p["in"] == "header" and p["name"] == "X-Account-ID" for p in parameters):
        required.add("404")
    if "requestBody" in operation:
        required.add("415")
    answers = OPERATIONS[operation_key(view, method)]
    if answers.store:
        required.add("503")
    if answers.broker:
        required |= BROKER_STATUSES
    required |= {str(status) for status in answers.extra}
    return required


@pytest.fixture(scope="module")
def views() -> dict[tuple[str, str], object]:
    """(route as in the document, method) -> the view instance the schema was generated from."""
    generator = SchemaGenerator()
    generator._initialise_endpoints()
    return {(route if route.startswith("/") else f"/{route}", method.lower()): view
            for route, _regex, method, view in generator._get_paths_and_endpoints()}


def test_every_operation_is_classified_and_nothing_stale(document, views):
    documented = {(route, method) for route, method, _operation in _operations(document)}
    keys = {operation_key(view, method) for (route, method), view in views.items() if (route, method) in documented}
    assert keys - OPERATIONS.keys() == set(), "operations missing from budhitrade.schema.OPERATIONS"
    assert OPERATIONS.keys() - keys == set(), "OPERATIONS names operations that no longer exist"
    assert len(documented) >= 30 and documented <= views.keys()


def test_every_operation_documents_each_status_its_rules_imply(document, views):
    missing = {}
    for route, method, operation in _operations(document):
        view = views[(route, method)]
        required = _required_statuses(operation, method, view)
        lacking = required - set(operation["responses"])
        if lacking:
            missing[f"{method.upper()} {route}"] = sorted(lacking)
    assert missing == {}


def test_jwt_operations_say_so_and_document_401(document, views):
    for route, method, operation in _operations(document):
        authenticated = {"jwtAuth": []} in operation.get("security", [])
        if authenticated and {} not in operation["security"]:
            assert "401" in operation["responses"], f"{method} {route}"


def test_each_error_status_carries_the_error_body(document):
    """Every 4xx/5xx answers the contract's shape, checked on the smallest body each status can carry."""
    for route, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            media = response.get("content", {}).get("application/json")
            assert media is not None, f"{method.upper()} {route} {status} has no JSON body"
            validator = _validator(document, media["schema"])
            if route == "/health" and status == "503":
                body = {"status": "unhealthy", "checks": {"database": "ok", "redis": "down"}}
            else:
                body = {"detail": "Not found.", "status_code": int(status)}
            assert validator.is_valid(body), f"{method.upper()} {route} {status}: {list(validator.iter_errors(body))}"
            if not (route == "/health" and status == "503"):
                assert not validator.is_valid({"detail": "x"}), f"{method.upper()} {route} {status} lacks status_code"


def test_every_answer_documents_the_rate_limit_headers(document):
    for route, method, operation in _operations(document):
        for status, response in operation["responses"].items():
            headers = response.get("headers", {})
            for name in RATE_LIMIT_HEADERS:
                assert name in headers, f"{method.upper()} {route} {status} lacks {name}"
            if status == "429":
                assert "Retry-After" in headers
    for name in RATE_LIMIT_HEADERS:
        assert document["components"]["headers"][name]["required"] is True


def test_place_order_400_accepts_a_validation_error_and_a_broker_refusal(document):
    schema = document["paths"]["/accounts/{account_id}/orders"]["post"]["responses"]["400"]["content"][
        "application/json"]["schema"]
    validator = _validator(document, schema)
    validation_error = {"detail": "Invalid input.", "status_code": 400,
                        "errors": {"price": ["Required for LIMIT and SL orders."]}}
    refusal = {"status": "error", "success": False, "error": "Insufficient margin", "detail": "Insufficient margin",
               "status_code": 400, "order_id": "260101000001", "order_status": "REJECTED"}
    assert validator.is_valid(validation_error), list(validator.iter_errors(validation_error))
    assert validator.is_valid(refusal)
    assert not validator.is_valid({"errors": {}})


def test_broker_operations_document_broker_failures_and_plain_reads_do_not(document):
    by_id = {operation["operationId"]: operation for _route, _method, operation in _operations(document)}
    for operation_id in ("orders_place", "orders_modify", "orders_cancel", "accounts_sync_create",
                         "accounts_positions_retrieve", "accounts_holdings_retrieve", "portfolio_limits",
                         "broker_connect_initiate_create", "dashboard_retrieve"):
        assert BROKER_STATUSES <= set(by_id[operation_id]["responses"]), operation_id
    for operation_id in ("orders_list", "orders_detail", "broker_status_retrieve", "accounts_list"):
        assert not {"502", "504"} & set(by_id[operation_id]["responses"]), operation_id
    assert "503" not in by_id["root_retrieve"]["responses"]  # it needs neither the database nor Redis


class _UnlistedView(APIView):
    """A view the schema has not been told about."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: None})
    def post(self, request, thing_id):
        return Response({})


def test_a_new_view_gets_the_generic_statuses_and_is_refused_until_classified(monkeypatch):
    warnings = []
    monkeypatch.setattr(schema_module, "warn", warnings.append)
    generator = SchemaGenerator(patterns=[path("things/<str:thing_id>", _UnlistedView.as_view())])

    operation = generator.get_schema(request=None, public=True)["paths"]["/things/{thing_id}"]["post"]

    assert any("_UnlistedView.post" in message for message in warnings)
    # Until it is classified it is taken to wait on a broker, so nothing it might answer goes undocumented.
    assert {"400", "401", "404", "406", "409", "413", "429", "502", "503", "504"} <= set(operation["responses"])


def test_spectacular_fails_on_an_unclassified_view(monkeypatch, tmp_path):
    from django.core.management import call_command
    from drf_spectacular.drainage import reset_generator_stats
    from drf_spectacular.management.commands.spectacular import SchemaGenerationError

    monkeypatch.delitem(OPERATIONS, "TradeListView.get")
    reset_generator_stats()
    try:
        with pytest.raises(SchemaGenerationError):
            call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    finally:
        reset_generator_stats()
