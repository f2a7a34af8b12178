"""What seed 001's tests share: the document's user, its paths, and the checks of its envelope."""

from __future__ import annotations

from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft7Validator

BASE = "/api/brokers/kotak"
# The document's user: every example names "user123".
DOCUMENT_USER = "user123"


def assert_error(response, status: int) -> dict:
    """The contract's error shape, with seed 001's envelope around it."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status_code"] == status and isinstance(body["detail"], str) and body["detail"], body
    assert (body["success"], body["message"], body["data"]) == (False, body["detail"], None), body
    return body


def assert_success(response, message: str):
    """Seed 001's success envelope; its data."""
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["success"], body["message"]) == (True, message), body
    assert set(body) == {"success", "message", "data"}
    return body["data"]


_DOCUMENT: dict = {}


def _json_schema(node):
    """OpenAPI 3.0's `nullable: true` and boolean exclusive bounds as JSON Schema's, everywhere in `node`."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {name: _json_schema(value) for name, value in node.items()
           if name not in ("nullable", "exclusiveMaximum", "exclusiveMinimum")}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    for bound, exclusive in (("maximum", "exclusiveMaximum"), ("minimum", "exclusiveMinimum")):
        if node.get(exclusive) is True and bound in node:
            out[exclusive] = out.pop(bound)
    return out


def answer_errors(operation_id: str, body: dict) -> list[str]:
    """Where a 200 answer of `operation_id` breaks its declaration in the project's OpenAPI document."""
    if not _DOCUMENT:
        _DOCUMENT.update(_json_schema(SchemaGenerator().get_schema(request=None, public=True)))
    [schema] = [operation["responses"]["200"]["content"]["application/json"]["schema"]
                for item in _DOCUMENT["paths"].values() for operation in item.values()
                if isinstance(operation, dict) and operation.get("operationId") == operation_id]
    validator = Draft7Validator({**schema, "components": _DOCUMENT["components"]})
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(body)]
