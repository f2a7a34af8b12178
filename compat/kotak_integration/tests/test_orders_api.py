"""Seed 001's order, report, quote and status paths on a paper account, with the document's own example bodies."""

from decimal import Decimal

import pytest

from brokers.models import BrokerConnection
from brokers.paper.models import PaperInstrument
from compat.kotak_integration.tests.support import (
    BASE,
    answer_errors,
    assert_error,
    assert_success,
)
from orders.models import Order
from orders.tests.book import ltp

pytestmark = pytest.mark.django_db(transaction=True)

# Seed 001's "Place Order" body, as written.
PLACE = {"user_id": "user123", "symbol": "RELIANCE", "exchange": "nse_cm", "quantity": 1, "order_type": "MKT",
         "price": 0, "transaction_type": "B", "product_type": "CNC", "validity": "DAY"}
# Seed 001's cURL "Place Order": no price, product_type or validity.
PLACE_CURL = {"user_id": "user123", "symbol": "RELIANCE", "exchange": "nse_cm", "quantity": 1, "order_type": "MKT",
              "transaction_type": "B"}
# Seed 001's "Modify Order" and "Cancel Order" bodies, as written (ORDER123 is the document's order number).
MODIFY = {"user_id": "user123", "order_no": "ORDER123", "quantity": 2, "price": 2500.0, "order_type": "LMT"}
CANCEL = {"user_id": "user123", "order_no": "ORDER123"}
# Seed 001's report, quote and status queries, as written.
MINE = {"user_id": "user123"}
QUOTE = {"user_id": "user123", "exchange": "nse_cm", "symbol_code": "26000"}
# A sell limit far above the market: it rests, so the document's modify (2 at 2500.0, still above) rests too.
RESTING = {**PLACE, "order_type": "LMT", "price": 3000, "transaction_type": "S", "product_type": "MIS"}


@pytest.fixture
def account(trader_api, paper_market) -> str:
    """A paper account of the document's user, connected through the API."""
    return trader_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]


def place(api, body, **headers):
    return api.post(f"{BASE}/orders/place", body, format="json", **headers)


def test_the_documents_place_example_fills_and_reads_the_same_in_every_family(trader_api, account):
    response = place(trader_api, PLACE)

    row = assert_success(response, "Order placed successfully")
    assert answer_errors("kotak_integration_order_place", response.json()) == []
    [unified] = trader_api.get(f"/accounts/{account}/orders").json()["orders"]
    assert row == unified
    assert (row["tradingsymbol"], row["exchange"], row["transaction_type"], row["order_type"], row["product"],
            row["validity"], row["quantity"], row["price"], row["status"], row["average_price"]) == (
        "RELIANCE", "NSE", "BUY", "MARKET", "CNC", "DAY", 1, None, "COMPLETE", float(ltp("RELIANCE")))
    assert trader_api.get("/api/orders").json()["data"] == [unified]  # seed 002's order book
    listed = trader_api.get(f"{BASE}/orders", MINE)
    assert assert_success(listed, "Orders retrieved successfully") == [unified]
    assert answer_errors("kotak_integration_orders", listed.json()) == []


def test_the_curl_example_places_a_delivery_day_order(trader_api, account):
    row = assert_success(place(trader_api, PLACE_CURL), "Order placed successfully")

    assert (row["product"], row["validity"], row["exchange"], row["status"]) == ("CNC", "DAY", "NSE", "COMPLETE")


def test_an_order_placed_through_seed_002_or_the_unified_api_reads_the_same_here(trader_api, account):
    seed_002 = trader_api.post("/api/orders/place", {
        "exchange_segment": "nse_cm", "product": "CNC", "price": "100.50", "order_type": "L", "quantity": "10",
        "validity": "DAY", "trading_symbol": "ITC-EQ", "transaction_type": "B"}, format="json").json()
    unified = trader_api.post(f"/accounts/{account}/orders", {
        "tradingsymbol": "INFY", "exchange": "NSE", "transaction_type": "BUY", "quantity": 2, "order_type": "LIMIT",
        "product": "CNC", "price": "1000"}, format="json").json()

    listed = assert_success(trader_api.get(f"{BASE}/orders", MINE), "Orders retrieved successfully")

    assert [row["order_id"] for row in listed] == [unified["order_id"], seed_002["order_id"]]
    assert listed == trader_api.get(f"/accounts/{account}/orders").json()["orders"]
    assert listed[1] == seed_002["data"]


def test_the_documents_modify_then_cancel(trader_api, account):
    order_no = assert_success(place(trader_api, RESTING), "Order placed successfully")["order_id"]

    modified = trader_api.post(f"{BASE}/orders/modify", {**MODIFY, "order_no": order_no}, format="json")

    row = assert_success(modified, "Order modified successfully")
    assert (row["quantity"], row["price"], row["order_type"], row["status"]) == (2, 2500.0, "LIMIT", "OPEN")
    assert row == trader_api.get(f"/accounts/{account}/orders/{order_no}").json()
    assert answer_errors("kotak_integration_order_modify", modified.json()) == []
    cancelled = trader_api.post(f"{BASE}/orders/cancel", {**CANCEL, "order_no": order_no}, format="json")
    row = assert_success(cancelled, "Order cancelled successfully")
    assert row["status"] == "CANCELLED" and row == trader_api.get(f"/accounts/{account}/orders/{order_no}").json()
    # finished: 409, as the unified DELETE; the document's own order number is no order of this account
    assert_error(trader_api.post(f"{BASE}/orders/cancel", {**CANCEL, "order_no": order_no}, format="json"), 409)
    assert_error(trader_api.post(f"{BASE}/orders/cancel", CANCEL, format="json"), 404)
    assert_error(trader_api.post(f"{BASE}/orders/modify", MODIFY, format="json"), 404)
    history = trader_api.get(f"/accounts/{account}/orders/{order_no}/history").json()["history"]
    assert [event["source"] for event in history].count("modify") == 1


def test_the_documents_reports_read_the_same_as_the_unified_api(trader_api, account, settings):
    settings.PORTFOLIO_FRESH_SECONDS = 0
    order_no = assert_success(place(trader_api, PLACE), "Order placed successfully")["order_id"]

    trades = trader_api.get(f"{BASE}/trades", MINE)
    positions = trader_api.get(f"{BASE}/positions", MINE)
    holdings = trader_api.get(f"{BASE}/holdings", MINE)

    fills = assert_success(trades, "Trades retrieved successfully")
    assert fills == trader_api.get(f"/accounts/{account}/trades").json()["trades"]
    assert [(fill["order_id"], fill["quantity"], fill["price"]) for fill in fills] == [
        (order_no, 1, float(ltp("RELIANCE")))]
    rows = assert_success(positions, "Positions retrieved successfully")
    assert rows == trader_api.get(f"/accounts/{account}/positions").json()["positions"]
    assert [(row["tradingsymbol"], row["quantity"]) for row in rows] == [("RELIANCE", 1)]
    assert assert_success(holdings, "Holdings retrieved successfully") == trader_api.get(
        f"/accounts/{account}/holdings").json()["holdings"]
    for operation, response in (("trades", trades), ("positions", positions), ("holdings", holdings)):
        assert answer_errors(f"kotak_integration_{operation}", response.json()) == [], operation


def test_the_documents_quote_is_the_paper_nifty_50_as_the_market_endpoint_prices_it(trader_api, account):
    response = trader_api.get(f"{BASE}/quotes", QUOTE)

    [quote] = assert_success(response, "Quotes retrieved successfully")
    assert (quote["instrument_token"], quote["exchange_segment"], quote["ltp"], quote["instrument_type"]) == (
        "26000", "nse_cm", float(PaperInstrument.objects.get(token=26000).last_price), "INDEX")
    market = trader_api.post("/api/market/quotes", {"instrument_tokens": [
        {"instrument_token": "26000", "exchange_segment": "nse_cm"}], "quote_type": "all"}, format="json")
    assert [quote] == market.json()["data"]
    assert answer_errors("kotak_integration_quotes", response.json()) == []
    by_name = assert_success(trader_api.get(f"{BASE}/quotes", {**QUOTE, "symbol_code": "Nifty 50"}),
                             "Quotes retrieved successfully")
    assert by_name == [quote]


def test_a_user_with_no_account_is_quoted_by_the_paper_market(trader_api, paper_market):
    [quote] = assert_success(trader_api.get(f"{BASE}/quotes", {**QUOTE, "symbol_code": "2885"}),
                             "Quotes retrieved successfully")

    assert (quote["trading_symbol"], quote["ltp"]) == ("RELIANCE", float(ltp("RELIANCE")))


def test_the_documents_status_is_the_accounts_connection_status(trader_api, account):
    response = trader_api.get(f"{BASE}/status", MINE)

    status = assert_success(response, "Status retrieved successfully")
    assert status == trader_api.get("/broker/status").json()
    assert (status["is_connected"], status["broker_name"], status["account_id"]) == (True, "paper", account)
    trader_api.post("/broker/disconnect")
    after = assert_success(trader_api.get(f"{BASE}/status", MINE), "Status retrieved successfully")
    assert (after["is_connected"], after["status"]) == (False, "disconnected")


def test_an_idempotency_key_replay_gives_the_same_answer_and_places_nothing(trader_api, account):
    first = place(trader_api, PLACE, HTTP_IDEMPOTENCY_KEY="k-001-1")
    again = place(trader_api, PLACE, HTTP_IDEMPOTENCY_KEY="k-001-1")

    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert Order.objects.count() == 1
    other = assert_error(place(trader_api, {**PLACE, "quantity": 2}, HTTP_IDEMPOTENCY_KEY="k-001-1"), 409)
    assert "Idempotency-Key" in other["detail"]
    assert Order.objects.count() == 1


def test_a_refusal_replayed_under_its_key_keeps_the_envelope_and_the_order(trader_api, account):
    refused = {**PLACE, "symbol": "MARUTI", "quantity": 1000}

    first = assert_error(place(trader_api, refused, HTTP_IDEMPOTENCY_KEY="k-001-2"), 400)
    again = assert_error(place(trader_api, refused, HTTP_IDEMPOTENCY_KEY="k-001-2"), 400)

    assert again == first
    assert (first["status"], first["error"], first["order_status"]) == ("error", "Insufficient margin", "REJECTED")
    assert Order.objects.get().status == "REJECTED"


def test_gtc_is_refused_on_paper_naming_it_and_its_broker(trader_api, account):
    error = assert_error(place(trader_api, {**RESTING, "validity": "GTC"}), 400)

    assert "GTC is not supported for this account" in error["errors"]["validity"][0]
    assert "GTC" in error["detail"] and "paper" in error["detail"]
    assert not Order.objects.exists()


def test_the_account_is_chosen_as_the_unified_api_chooses_it(trader_api, account):
    second = trader_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]

    assert "X-Account-ID" in assert_error(place(trader_api, PLACE), 400)["detail"]
    assert_error(trader_api.get(f"{BASE}/orders", MINE), 400)
    row = assert_success(place(trader_api, PLACE, HTTP_X_ACCOUNT_ID=second), "Order placed successfully")
    assert Order.objects.get().connection.account_id == second
    assert assert_success(trader_api.get(f"{BASE}/orders", MINE, HTTP_X_ACCOUNT_ID=account), "Orders retrieved "
                          "successfully") == []
    assert assert_success(trader_api.get(f"{BASE}/orders", MINE, HTTP_X_ACCOUNT_ID=second), "Orders retrieved "
                          "successfully") == [row]


def _every_path(api, order_no: str, **headers) -> list:
    """One request of each seed 001 path, as the document writes it, naming `order_no`."""
    return [
        api.post(f"{BASE}/login/totp", {"user_id": "user123", "access_token": "k", "mobile_number": "+919876543210",
                                        "client_code": "AB123", "totp": "123456"}, format="json", **headers),
        api.post(f"{BASE}/login/mpin", {"user_id": "user123", "mpin": "123456"}, format="json", **headers),
        place(api, PLACE, **headers),
        api.post(f"{BASE}/orders/modify", {**MODIFY, "order_no": order_no}, format="json", **headers),
        api.post(f"{BASE}/orders/cancel", {**CANCEL, "order_no": order_no}, format="json", **headers),
        *(api.get(f"{BASE}/{report}", MINE, **headers) for report in ("orders", "trades", "positions", "holdings")),
        api.get(f"{BASE}/quotes", QUOTE, **headers),
        api.get(f"{BASE}/status", MINE, **headers),
    ]


def test_another_users_user_id_and_order_are_404_on_every_path(trader_api, other_api, account, trader):
    order_no = assert_success(place(trader_api, RESTING), "Order placed successfully")["order_id"]
    other_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json")

    answers = _every_path(other_api, order_no)  # naming user123, who is not the caller

    assert [response.status_code for response in answers] == [404] * 11
    for response in answers:
        assert_error(response, 404)
    for user_id in (str(trader.pk), trader.pk):
        assert_error(other_api.get(f"{BASE}/orders", {"user_id": user_id}), 404)
        assert_error(place(other_api, {**PLACE, "user_id": user_id}), 404)
    # the caller's own user_id, or none: their own account, where the order is not
    mine = {"order_no": order_no}
    assert_error(other_api.post(f"{BASE}/orders/modify", {**mine, "price": 2900}, format="json"), 404)
    assert_error(other_api.post(f"{BASE}/orders/cancel", {**mine, "user_id": "ravi"}, format="json"), 404)
    assert assert_success(other_api.get(f"{BASE}/orders"), "Orders retrieved successfully") == []
    # naming the owner's account is 404 too: never revealed
    assert_error(other_api.get(f"{BASE}/orders", HTTP_X_ACCOUNT_ID=account), 404)
    assert_error(other_api.get(f"{BASE}/status", HTTP_X_ACCOUNT_ID=account), 404)
    assert_error(place(other_api, {**PLACE, "user_id": ""}, HTTP_X_ACCOUNT_ID=account), 404)
    stored = Order.objects.get(broker_order_id=order_no)
    assert (stored.status, stored.quantity, Order.objects.count()) == ("OPEN", 1, 1)
    assert BrokerConnection.objects.filter(broker="kotak_neo").count() == 0


def test_the_user_id_may_name_the_caller_by_id_or_username(trader_api, account, trader):
    by_name = assert_success(trader_api.get(f"{BASE}/status", {"user_id": "user123"}), "Status retrieved successfully")
    by_id = assert_success(trader_api.get(f"{BASE}/status", {"user_id": str(trader.pk)}),
                           "Status retrieved successfully")
    absent = assert_success(trader_api.get(f"{BASE}/status"), "Status retrieved successfully")

    assert by_name == by_id == absent
    assert assert_success(place(trader_api, {**PLACE, "user_id": trader.pk}), "Order placed successfully")


def test_staff_naming_a_user_act_on_that_users_account(trader_api, account, make_user, client_for, trader):
    order_no = assert_success(place(trader_api, RESTING), "Order placed successfully")["order_id"]
    staff = client_for(make_user("desk", is_staff=True))

    listed = assert_success(staff.get(f"{BASE}/orders", {"user_id": str(trader.pk)}), "Orders retrieved successfully")
    cancelled = assert_success(staff.post(f"{BASE}/orders/cancel", {**CANCEL, "order_no": order_no}, format="json"),
                               "Order cancelled successfully")

    assert [row["order_id"] for row in listed] == [order_no]
    assert cancelled["status"] == "CANCELLED"
    assert_error(staff.get(f"{BASE}/orders"), 404)  # the staff user's own: none
    assert_error(staff.get(f"{BASE}/orders", {"user_id": "nobody"}), 404)
    assert_error(staff.get(f"{BASE}/orders", {"user_id": "99999999999999999999999"}), 404)


@pytest.mark.parametrize("changes,field", [
    ({"order_type": "L"}, "order_type"),  # seed 002's word, not seed 001's
    ({"order_type": "LIMIT"}, "order_type"),
    ({"order_type": "SL"}, "order_type"),
    ({"transaction_type": "BUY"}, "transaction_type"),
    ({"exchange": "NSE"}, "exchange"),
    ({"exchange": "cde_fo"}, "exchange"),
    ({"quantity": "ten"}, "quantity"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": 1.5}, "quantity"),
    ({"quantity": None}, "quantity"),
    ({"price": "abc"}, "price"),
    ({"price": -1}, "price"),
    ({"price": 1500.005, "order_type": "LMT"}, "price"),
    ({"price": 1500.03, "order_type": "LMT"}, "price"),  # off the tick
    ({"price": 0, "order_type": "LMT"}, "price"),  # a limit order needs its price
    ({"price": 1500}, "price"),  # a market order takes none
    ({"product_type": "XYZ"}, "product_type"),
    ({"product_type": "NRML"}, "product_type"),  # NRML is for derivatives, as the unified API says
    ({"product_type": "CO"}, "product_type"),
    ({"validity": "WEEK"}, "validity"),
    ({"symbol": None}, "symbol"),
    ({"symbol": "NOSUCHCO"}, "symbol"),
    ({"user_id": [1]}, "user_id"),
])
def test_bad_place_input_is_400_naming_seed_001s_field_and_places_nothing(trader_api, account, changes, field):
    body = {name: value for name, value in {**PLACE, **changes}.items() if value is not None}

    error = assert_error(place(trader_api, body), 400)

    assert field in error["errors"], error
    assert not Order.objects.exists()


@pytest.mark.parametrize("changes,field", [
    ({"quantity": 0}, "quantity"), ({"quantity": "x"}, "quantity"), ({"price": "x"}, "price"),
    ({"price": 2500.123}, "price"), ({"order_type": "SL"}, "order_type"), ({"order_type": "L"}, "order_type"),
    ({"order_no": None}, "order_no"),
])
def test_bad_modify_input_is_400_naming_the_field_and_changes_nothing(trader_api, account, changes, field):
    order_no = assert_success(place(trader_api, RESTING), "Order placed successfully")["order_id"]
    body = {name: value for name, value in {**MODIFY, "order_no": order_no, **changes}.items() if value is not None}

    error = assert_error(trader_api.post(f"{BASE}/orders/modify", body, format="json"), 400)

    assert field in error["errors"], error
    stored = Order.objects.get()
    assert (stored.quantity, stored.price, stored.events.filter(source="modify").exists()) == (
        1, Decimal("3000"), False)


def test_a_modify_with_nothing_to_change_and_other_bad_bodies_are_400(trader_api, account):
    order_no = assert_success(place(trader_api, RESTING), "Order placed successfully")["order_id"]

    assert "order_type" in assert_error(trader_api.post(f"{BASE}/orders/modify", {
        "user_id": "user123", "order_no": order_no, "price": 0}, format="json"), 400)["detail"]
    assert_error(trader_api.post(f"{BASE}/orders/modify", [1], format="json"), 400)
    assert "order_no" in assert_error(trader_api.post(f"{BASE}/orders/cancel", {"user_id": "user123"},
                                                      format="json"), 400)["errors"]
    assert_error(trader_api.post(f"{BASE}/orders/cancel", "ORDER123", format="json"), 400)
    assert Order.objects.get().status == "OPEN"


@pytest.mark.parametrize("path,query,field", [
    ("orders", {"limit": "0"}, None),
    ("trades", {"limit": "x"}, None),
    ("positions", {"broker": "nobroker"}, None),
    ("holdings", {"broker": "nobroker"}, None),
    ("status", {"connection_id": "not-an-id"}, None),
    ("quotes", {"symbol_code": "99999999"}, "symbol_code"),
    ("quotes", {"symbol_code": ""}, "symbol_code"),
    ("quotes", {"exchange": "NSE"}, "exchange"),
    ("quotes", {"exchange": "nse_cm", "symbol_code": None}, "symbol_code"),
])
def test_bad_query_input_is_400_in_the_contract_shape(trader_api, account, path, query, field):
    params = {**MINE, **(QUOTE if path == "quotes" else {}), **query}

    error = assert_error(trader_api.get(f"{BASE}/{path}", {k: v for k, v in params.items() if v is not None}), 400)

    if field:
        assert field in error["errors"], error


def test_every_path_needs_a_jwt_and_says_so_in_the_envelope(api, account):
    for response in _every_path(api, "1"):
        assert_error(response, 401)
    assert Order.objects.count() == 0 and BrokerConnection.objects.count() == 1


# Every query a read makes: the user (JWT), the account, then its rows; the status reads the account alone; a quote
# the listing's row and the paper market's price and clock.
MOST_QUERIES = {"orders": 3, "trades": 3, "status": 2, "quotes": 5}


def _queries_of_each_read(api, assert_max):
    for path, most in MOST_QUERIES.items():
        with assert_max(most):
            response = api.get(f"{BASE}/{path}", QUOTE if path == "quotes" else MINE)
        assert response.status_code == 200, path


def test_reads_cost_the_same_few_queries_for_2_orders_as_for_12(trader_api, account, django_assert_max_num_queries):
    for _ in range(2):
        place(trader_api, PLACE)
    _queries_of_each_read(trader_api, django_assert_max_num_queries)
    for _ in range(10):
        place(trader_api, PLACE)

    _queries_of_each_read(trader_api, django_assert_max_num_queries)

    assert len(assert_success(trader_api.get(f"{BASE}/trades", MINE), "Trades retrieved successfully")) == 12
