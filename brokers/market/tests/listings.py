"""Accounts whose instrument listing is real: the paper exchange's, Kite's recorded dump, Kotak's recorded scrip master.

Imported by the market tests as fixtures; each master is loaded the way production loads it (instruments_refresh
through the real SDK against the brokers' recorded files), so the rows are the ones a real master makes. Also
`answer_errors`, which holds a real answer to the OpenAPI document (the schema tests check error bodies only).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft7Validator

from brokers.calendar import IST
from brokers.instruments import instruments_refresh
from brokers.models import BrokerConnection
from brokers.tests.fixtures import NEO_TRADE_HOST, PAPER_START_DAY, ist

MORNING = datetime(2026, 12, 1, 8, 45, tzinfo=IST)  # the day of the recorded Kotak file list, after it is published


@pytest.fixture
def paper_listing(paper_market):
    """The paper exchange open at 11:00 on its first day (NIFTY 50 equities, NIFTY 50 and NIFTY BANK, F&O)."""
    from brokers.paper import market

    market.market_advance(to=ist(PAPER_START_DAY, 11, 0))
    return paper_market


@pytest.fixture
def paper_connection(user, paper_listing):
    return BrokerConnection.objects.create(user=user, broker="paper", account_id="PA00000001", status="connected")


@pytest.fixture
def kite_connection(user, kite_wire):
    """A connected Zerodha account, with Kite's recorded instrument dump loaded as the stored master."""
    connection = BrokerConnection.objects.create(
        user=user, broker="zerodha", account_id="ZX4821", status="connected",
        credentials={"api_key": "kitekey123", "api_secret": "s"}, session={"access_token": "kAcc3ssT0kenValue9"})
    kite_wire.reply_csv("/instruments", "instruments.csv")
    assert instruments_refresh(connection=connection, now=MORNING) == 9
    return connection


@pytest.fixture
def neo_connection(user, neo_wire):
    """A connected Kotak Neo account, with Kotak's recorded scrip master loaded as the stored master."""
    connection = BrokerConnection.objects.create(
        user=user, broker="kotak_neo", account_id="AB123", status="connected", options={"environment": "prod"},
        credentials={"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"},
        session={"edit_token": "eyJ.trade", "edit_sid": "sid-2", "base_url": NEO_TRADE_HOST, "ucc": "AB123"})
    neo_wire.serve_scrip_master()
    assert instruments_refresh(connection=connection, now=MORNING) == 14
    return connection


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` as JSON Schema's null type, everywhere in `node`."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {name: _json_schema(value) for name, value in node.items() if name != "nullable"}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    return out


@cache
def _answers() -> dict[str, dict]:
    """operationId -> its documented 200 body schema, with the document's components to resolve refs in."""
    document = _json_schema(SchemaGenerator().get_schema(request=None, public=True))
    return {operation["operationId"]: {**operation["responses"]["200"]["content"]["application/json"]["schema"],
                                       "components": document["components"]}
            for item in document["paths"].values() for operation in item.values()
            if isinstance(operation, dict) and "200" in operation.get("responses", {})}


def answer_errors(operation_id: str, body: dict) -> list[str]:
    """Where a 200 answer of `operation_id` breaks its OpenAPI declaration (prices declared numbers, ...)."""
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
            for error in Draft7Validator(_answers()[operation_id]).iter_errors(body)]
