"""Seed 001 end to end on a Kotak Neo account: its login, then its order and quote, through the real neo_api_client
on recorded Kotak bodies."""

import json
from urllib.parse import parse_qs

import pytest

from brokers.instruments import instruments_refresh
from brokers.market.tests.listings import MORNING
from brokers.models import BrokerConnection
from brokers.tests.fixtures import NEO_TRADE_HOST
from compat.kotak_integration.tests.support import (
    BASE,
    assert_error,
    assert_success,
)
from compat.kotak_integration.tests.test_auth_api import login
from orders.models import Order

pytestmark = pytest.mark.django_db

PLACE = f"{NEO_TRADE_HOST}/quick/order/rule/ms/place"
PLACED = "250122000612876"  # nOrdNo of order_place_success.json
# Seed 001's place body for a limit buy of a Kotak cash symbol.
ITC_LIMIT = {"user_id": "user123", "symbol": "ITC-EQ", "exchange": "nse_cm", "quantity": 10, "order_type": "LMT",
             "price": 405.5, "transaction_type": "B", "product_type": "CNC", "validity": "DAY"}


def jdata(request) -> dict:
    return json.loads(parse_qs(request.content.decode())["jData"][0])


@pytest.fixture
def kotak(trader_api, neo_wire) -> BrokerConnection:
    """The document's user, logged in to Kotak Neo through seed 001's own login paths."""
    started, verified = login(trader_api, neo_wire)
    assert verified.status_code == 200, verified.content
    return BrokerConnection.objects.get(broker="kotak_neo")


def test_the_documents_order_reaches_kotak_in_kotaks_words_and_reads_as_the_unified_book(trader_api, kotak,
                                                                                        neo_wire):
    neo_wire.reply("POST", PLACE, "order_place_success.json")

    row = assert_success(trader_api.post(f"{BASE}/orders/place", ITC_LIMIT, format="json"), "Order placed successfully")

    wire = jdata(neo_wire.calls(PLACE)[0])
    assert {name: wire[name] for name in ("es", "pc", "pr", "pt", "qt", "rt", "ts", "tt")} == {
        "es": "nse_cm", "pc": "CNC", "pr": "405.50", "pt": "L", "qt": "10", "rt": "DAY", "ts": "ITC-EQ", "tt": "B"}
    assert (row["order_id"], row["status"]) == (PLACED, "OPEN")
    assert [row] == trader_api.get("/accounts/AB123/orders").json()["orders"]
    assert [row] == trader_api.get("/api/orders").json()["data"]


def test_gtc_is_refused_where_kotaks_adapter_takes_none_and_kotak_is_not_called(trader_api, kotak, neo_wire):
    error = assert_error(trader_api.post(f"{BASE}/orders/place", {**ITC_LIMIT, "validity": "GTC"}, format="json"),
                         400)

    assert "GTC" in error["errors"]["validity"][0] and "kotak_neo" in error["detail"]
    assert not neo_wire.calls(PLACE) and not Order.objects.exists()


def test_the_documents_quote_asks_kotak_for_the_index_by_its_name(trader_api, kotak, neo_wire):
    neo_wire.serve_scrip_master()
    assert instruments_refresh(connection=kotak, now=MORNING) == 14
    url = f"{NEO_TRADE_HOST}/script-details/1.0/quotes/neosymbol/nse_cm|Nifty%2050/all"  # the SDK's URL, encoded
    neo_wire.reply("GET", url, "quotes_index_nifty_50.json")  # composed: Kotak publishes no index quote

    [quote] = assert_success(trader_api.get(f"{BASE}/quotes", {"user_id": "user123", "exchange": "nse_cm",
                                                               "symbol_code": "26000"}),
                             "Quotes retrieved successfully")

    assert (quote["instrument_token"], quote["exchange_segment"], quote["ltp"]) == ("Nifty 50", "nse_cm", 26012.35)
    assert len(neo_wire.calls(url)) == 1
