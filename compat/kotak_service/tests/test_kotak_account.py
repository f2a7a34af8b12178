"""Seed 002's paths on a Kotak Neo account: the real neo_api_client on recorded Kotak bodies."""

import json
from datetime import datetime
from unittest.mock import patch
from urllib.parse import parse_qs

import pytest

from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.calendar import IST
from brokers.instruments import instruments_refresh
from brokers.tests.fixtures import NEO_TRADE_HOST
from compat.kotak_service import translate
from orders.models import Order
from portfolio.tests.fixtures import neo_wired_account  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db

PLACE = f"{NEO_TRADE_HOST}/quick/order/rule/ms/place"
PLACED = "250122000612876"  # nOrdNo of order_place_success.json
# Seed 002's place body, every field as the document lists it, for a Kotak cash symbol.
ITC_LIMIT = {"exchange_segment": "nse_cm", "product": "CNC", "price": "405.50", "order_type": "L", "quantity": "10",
             "validity": "DAY", "trading_symbol": "ITC-EQ", "transaction_type": "B", "amo": "NO",
             "disclosed_quantity": "0", "market_protection": "0", "pf": "N", "trigger_price": "0", "tag": "string"}
MORNING = datetime(2026, 12, 1, 8, 45, tzinfo=IST)  # the day the recorded scrip master is for


def jdata(request) -> dict:
    return json.loads(parse_qs(request.content.decode())["jData"][0])


def test_the_documents_body_reaches_kotak_in_its_own_words(user_api, neo_wired_account, neo_wire):
    neo_wire.reply("POST", PLACE, "order_place_success.json")

    response = user_api.post("/api/orders/place", ITC_LIMIT, format="json")

    assert response.status_code == 200, response.content
    assert (response.json()["order_id"], response.json()["account_id"]) == (PLACED, "AB123")
    wire = jdata(neo_wire.calls(PLACE)[0])
    assert {name: wire[name] for name in ("es", "pc", "pr", "pt", "qt", "rt", "ts", "tt", "am", "dq", "tp")} == {
        "es": "nse_cm", "pc": "CNC", "pr": "405.50", "pt": "L", "qt": "10", "rt": "DAY", "ts": "ITC-EQ",
        "tt": "B", "am": "NO", "dq": "0", "tp": "0"}
    assert wire["ig"].startswith("bt")  # BudhiTrade's own unique tag; the user's "string" stays on the order
    [row] = user_api.get("/api/orders").json()["data"]
    assert row == user_api.get("/accounts/AB123/orders").json()["orders"][0]
    assert (row["tag"], row["status"]) == ("string", "OPEN")


def test_a_symbol_without_its_series_is_sent_as_kotaks_master_lists_it(user_api, neo_wired_account, neo_wire):
    neo_wire.serve_scrip_master()
    assert instruments_refresh(connection=neo_wired_account, now=MORNING) == 14
    neo_wire.reply("POST", PLACE, "order_place_success.json")

    with patch("brokers.selectors.timezone.now", return_value=MORNING):
        response = user_api.post("/api/orders/place", {**ITC_LIMIT, "trading_symbol": "ITC"}, format="json")
        unknown = user_api.post("/api/orders/place", {**ITC_LIMIT, "trading_symbol": "NOSUCHCO"}, format="json")

    assert response.status_code == 200, response.content
    assert jdata(neo_wire.calls(PLACE)[0])["ts"] == "ITC-EQ"
    assert unknown.status_code == 400 and "trading_symbol" in unknown.json()["errors"]
    assert len(neo_wire.calls(PLACE)) == 1 and Order.objects.count() == 1


def test_kotaks_refusal_is_400_and_the_order_is_kept_rejected(user_api, neo_wired_account, neo_wire):
    neo_wire.reply("POST", PLACE, "order_place_insufficient_balance.json")

    response = user_api.post("/api/orders/place", ITC_LIMIT, format="json")

    body = response.json()
    assert response.status_code == 400 and body["status_code"] == 400
    assert (body["status"], body["error"]) == ("error", "Insufficient balance.")
    assert Order.objects.get().status == "REJECTED"


def test_holdings_and_positions_read_the_same_as_the_unified_api(user_api, neo_wired_account, neo_wire):
    neo_wire.reply("GET", f"{NEO_TRADE_HOST}/script-details/1.0/quotes/neosymbol/nse_fo|61304/ltp",
                   "quotes_positions.json")

    holdings = user_api.get("/api/portfolio/holdings").json()
    positions = user_api.get("/api/portfolio/positions").json()

    assert holdings["status"] == "success" and holdings["data"]
    assert holdings["data"] == user_api.get("/accounts/AB123/holdings").json()["holdings"]
    assert positions["data"] == user_api.get("/accounts/AB123/positions").json()["positions"]
    assert [(p["tradingsymbol"], p["price_missing"]) for p in positions["data"]] == [("TCS26JULFUT", False)]


def test_cover_and_bracket_orders_pass_where_the_adapter_says_its_broker_takes_them(neo_wired_account, monkeypatch):
    order = {"product": "CO", "validity": "GTC"}
    with pytest.raises(Exception, match="CO is not supported.*GTC is not supported"):
        translate.broker_takes(connection=neo_wired_account, order=order)

    monkeypatch.setattr(KotakNeoAdapter, "places_cover_bracket_orders", True, raising=False)
    monkeypatch.setattr(KotakNeoAdapter, "places_long_validity_orders", True, raising=False)

    translate.broker_takes(connection=neo_wired_account, order=order)  # nothing refused: the flags say so
