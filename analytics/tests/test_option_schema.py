"""Each option endpoint's answer is the shape its OpenAPI schema documents, nulls and all."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft7Validator

from analytics.tests.chain_factory import EXPIRY, known_chain_create

pytestmark = pytest.mark.django_db

QUERIES = {
    "/fo/strike-distribution": ["symbol=NIFTY", "symbol=NIFTY&indicator=pcr&option_side=put",
                                "symbol=NIFTY&indicator=oi_change&expiry[]=2026-12-08"],
    "/fo/moneyness-series": ["symbol=NIFTY&hours=24", "symbol=NIFTY&indicator=premium_pct&option_side=put&depth=3"],
    "/fo/chain-summary": ["symbol=NIFTY", "symbol=NIFTY&expiry=2026-12-08"],
    "/fo/straddle-series": [f"symbol=NIFTY&expiry={EXPIRY}&hours=24&timeframe=15min"],
}


def _json_schema(node):
    """OpenAPI 3.0's `nullable` as JSON Schema's null type, so Draft 7 can check nulls."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture(scope="module")
def document() -> dict:
    return _json_schema(SchemaGenerator().get_schema(request=None, public=True))


@pytest.mark.parametrize("url", list(QUERIES))
def test_each_answer_matches_its_documented_shape(document, user_api, url):
    known_chain_create()
    schema = document["paths"][url]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    validator = Draft7Validator({**schema, "components": document["components"]})
    for query in QUERIES[url]:
        body = user_api.get(f"{url}?{query}").json()
        assert [error.message for error in validator.iter_errors(body)] == [], query
    # Every field the answer carries is documented, and every documented field is answered.
    name = schema["$ref"].rsplit("/", 1)[1]
    assert set(document["components"]["schemas"][name]["properties"]) == set(body)
