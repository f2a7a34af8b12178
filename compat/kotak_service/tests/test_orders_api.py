"""Seed 002's order, trade and portfolio paths on a paper account, with the document's own example bodies."""

from decimal import Decimal

import pytest

from brokers.models import BrokerConnection
from orders.models import Order
from orders.tests.book import account, ltp  # noqa: F401 (account is a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

# Seed 002's "Place Order Example", as written.
PLACE_EXAMPLE = {"exchange_segment": "nse_cm", "product": "CNC", "price": "100.50", "order_type": "L",
                 "quantity": "10", "validity": "DAY", "trading_symbol": "RELIANCE", "transaction_type": "B"}
# Seed 002's full place body, every field with the document's own value where it gives one.
PLACE_FULL = {**PLACE_EXAMPLE, "amo": "NO", "disclosed_quantity": "0", "market_protection": "0", "pf": "N",
              "trigger_price": "0", "tag": "string"}
MARKET_BUY = {**PLACE_FULL, "order_type": "MKT", "price": "0", "trading_symbol": "ITC-EQ", "tag": "mkt1"}


def place(api, body, **headers):
    return api.post("/api/orders/place", body, format="json", **headers)


def assert_error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status_code"] == status and isinstance(body["detail"], str) and body["detail"]
    return body


def test_the_documents_place_example_rests_and_reads_the_same_as_the_unified_book(user_api, account):
    response = place(user_api, PLACE_EXAMPLE)

    body = response.json()
    assert response.status_code == 200, body
    assert (body["status"], body["message"], body["account_id"]) == ("success", "Order placed successfully", account)
    [unified] = user_api.get(f"/accounts/{account}/orders").json()["orders"]
    assert body["data"] == unified
    assert (unified["order_id"], unified["tradingsymbol"], unified["exchange"], unified["transaction_type"],
            unified["order_type"], unified["product"], unified["quantity"], unified["price"], unified["status"]) == (
        body["order_id"], "RELIANCE", "NSE", "BUY", "LIMIT", "CNC", 10, 100.5, "OPEN")
    listed = user_api.get("/api/orders").json()
    assert (listed["status"], listed["data"]) == ("success", [unified])


def test_the_full_documented_body_places_with_its_tag(user_api, account):
    body = place(user_api, PLACE_FULL).json()

    stored = Order.objects.get(connection__account_id=account)
    assert (body["data"]["tag"], stored.tag, stored.variety, stored.disclosed_quantity) == (
        "string", "string", "regular", 0)


def test_a_market_buy_of_a_kotak_cash_symbol_fills_and_shows_in_trades_positions_and_history(
        user_api, account, settings):
    settings.PORTFOLIO_FRESH_SECONDS = 0
    price = ltp("ITC")

    body = place(user_api, MARKET_BUY).json()

    order_id = body["order_id"]
    assert (body["data"]["tradingsymbol"], body["data"]["status"], body["data"]["average_price"]) == (
        "ITC", "COMPLETE", float(price))
    trades = user_api.get("/api/trades", {"order_id": order_id}).json()
    assert trades["data"] == user_api.get(f"/accounts/{account}/trades", {"order_id": order_id}).json()["trades"]
    assert [(t["quantity"], t["price"]) for t in trades["data"]] == [(10, float(price))]
    assert user_api.get("/api/trades").json()["data"] == trades["data"]
    history = user_api.get(f"/api/orders/{order_id}/history").json()
    assert history["data"] == user_api.get(f"/accounts/{account}/orders/{order_id}/history").json()["history"]
    assert [event["status"] for event in history["data"]] == ["PENDING", "COMPLETE"]
    positions = user_api.get("/api/portfolio/positions").json()
    assert positions["status"] == "success"
    assert [(p["tradingsymbol"], p["quantity"]) for p in positions["data"]] == [("ITC", 10)]
    assert positions["data"] == user_api.get(f"/accounts/{account}/positions").json()["positions"]
    holdings = user_api.get("/api/portfolio/holdings").json()
    assert holdings["data"] == user_api.get(f"/accounts/{account}/holdings").json()["holdings"]


def test_the_documents_modify_body_then_cancel(user_api, account):
    order_id = place(user_api, PLACE_EXAMPLE).json()["order_id"]
    modify = {"order_id": order_id, "price": "101.00", "quantity": "5", "disclosed_quantity": "0",
              "trigger_price": "0", "validity": "DAY", "order_type": "L"}

    modified = user_api.put("/api/orders/modify", modify, format="json")

    assert modified.status_code == 200, modified.content
    assert (modified.json()["data"]["price"], modified.json()["data"]["quantity"]) == (101.0, 5)
    assert modified.json()["data"] == user_api.get(f"/accounts/{account}/orders/{order_id}").json()
    cancelled = user_api.delete(f"/api/orders/{order_id}")
    assert (cancelled.status_code, cancelled.json()["data"]["status"]) == (200, "CANCELLED")
    assert_error(user_api.delete(f"/api/orders/{order_id}"), 409)  # finished: as the unified DELETE
    sources = [e["source"] for e in user_api.get(f"/api/orders/{order_id}/history").json()["data"]]
    assert "modify" in sources


def test_an_order_placed_through_the_unified_api_is_seen_and_cancelled_here(user_api, account):
    placed = user_api.post(f"/accounts/{account}/orders", {
        "tradingsymbol": "INFY", "exchange": "NSE", "transaction_type": "BUY", "quantity": 2,
        "order_type": "LIMIT", "product": "CNC", "price": str(ltp("INFY") - 50)}, format="json").json()

    [row] = user_api.get("/api/orders").json()["data"]
    assert row == user_api.get(f"/accounts/{account}/orders/{placed['order_id']}").json()
    assert user_api.delete(f"/api/orders/{placed['order_id']}").json()["data"]["status"] == "CANCELLED"


def test_an_idempotency_key_replay_gives_the_same_order_and_places_nothing(user_api, account):
    first = place(user_api, PLACE_EXAMPLE, HTTP_IDEMPOTENCY_KEY="k-002-1")
    again = place(user_api, PLACE_EXAMPLE, HTTP_IDEMPOTENCY_KEY="k-002-1")

    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert Order.objects.filter(connection__account_id=account).count() == 1
    other = place(user_api, {**PLACE_EXAMPLE, "quantity": "11"}, HTTP_IDEMPOTENCY_KEY="k-002-1")
    assert_error(other, 409)
    assert Order.objects.filter(connection__account_id=account).count() == 1


def test_a_refusal_by_the_exchange_is_400_in_the_unified_shape_and_the_order_is_kept(user_api, account):
    response = place(user_api, {**MARKET_BUY, "trading_symbol": "MARUTI", "quantity": "1000"})

    body = assert_error(response, 400)
    assert (body["status"], body["success"], body["error"]) == ("error", False, "Insufficient margin")
    assert user_api.get("/api/orders").json()["data"][0]["status"] == "REJECTED"


def test_the_account_is_chosen_as_the_market_endpoints_choose_it(user_api, account, paper_market):
    second = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]

    ambiguous = assert_error(place(user_api, PLACE_EXAMPLE), 400)
    assert "X-Account-ID" in ambiguous["detail"]
    assert_error(user_api.get("/api/orders"), 400)
    placed = place(user_api, PLACE_EXAMPLE, HTTP_X_ACCOUNT_ID=second).json()
    assert placed["account_id"] == second
    assert user_api.get("/api/orders", HTTP_X_ACCOUNT_ID=account).json()["data"] == []
    assert_error(user_api.delete(f"/api/orders/{placed['order_id']}", HTTP_X_ACCOUNT_ID=account), 404)


def test_another_users_order_is_404_on_every_path(user_api, other_api, account):
    order_id = place(user_api, PLACE_EXAMPLE).json()["order_id"]
    other_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json")
    modify = {"order_id": order_id, "price": "99"}

    assert_error(other_api.delete(f"/api/orders/{order_id}"), 404)
    assert_error(other_api.put("/api/orders/modify", modify, format="json"), 404)
    assert_error(other_api.get(f"/api/orders/{order_id}/history"), 404)
    assert_error(other_api.get("/api/trades", {"order_id": order_id}), 404)
    assert other_api.get("/api/orders").json()["data"] == []
    # naming the owner's account is 404 too: never revealed
    for response in (other_api.get("/api/orders", HTTP_X_ACCOUNT_ID=account),
                     place(other_api, PLACE_EXAMPLE, HTTP_X_ACCOUNT_ID=account),
                     other_api.get("/api/portfolio/positions", HTTP_X_ACCOUNT_ID=account),
                     other_api.get("/api/portfolio/holdings", HTTP_X_ACCOUNT_ID=account),
                     other_api.delete(f"/api/orders/{order_id}", HTTP_X_ACCOUNT_ID=account)):
        assert_error(response, 404)
    assert Order.objects.get(broker_order_id=order_id).status == "OPEN"


@pytest.mark.parametrize("changes,field", [
    ({"transaction_type": "BUY"}, "transaction_type"),
    ({"order_type": "LIMIT"}, "order_type"),
    ({"exchange_segment": "nse"}, "exchange_segment"),
    ({"exchange_segment": "cde_fo"}, "exchange_segment"),
    ({"quantity": "ten"}, "quantity"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "10.5"}, "quantity"),
    ({"price": "abc"}, "price"),
    ({"price": "0"}, "price"),  # a limit order needs its price
    ({"amo": "MAYBE"}, "amo"),
    ({"product": "XYZ"}, "product"),
    ({"product": "NRML"}, "product"),  # NRML is for derivatives, as the unified API says
    ({"validity": "WEEK"}, "validity"),
    ({"market_protection": "5"}, "market_protection"),
    ({"pf": "Y"}, "pf"),
    ({"trading_symbol": "NOSUCHCO"}, "trading_symbol"),
    ({"disclosed_quantity": "20"}, "disclosed_quantity"),
    ({"tag": "not a tag!"}, "tag"),
    ({"trading_symbol": None}, "trading_symbol"),
    ({"price": "100.53"}, "price"),  # off the tick
])
def test_bad_place_input_is_400_naming_seed_002s_field_and_places_nothing(user_api, account, changes, field):
    body = {name: value for name, value in {**PLACE_EXAMPLE, **changes}.items() if value is not None}

    error = assert_error(place(user_api, body), 400)

    assert field in error["errors"], error
    assert not Order.objects.exists()


@pytest.mark.parametrize("changes,field", [
    ({"product": "CO"}, "product"), ({"product": "BO"}, "product"),
    ({"validity": "GTC"}, "validity"), ({"validity": "EOS"}, "validity"), ({"validity": "GTD"}, "validity"),
])
def test_cover_bracket_and_long_validities_are_400_where_the_broker_takes_none(user_api, account, changes, field):
    error = assert_error(place(user_api, {**PLACE_EXAMPLE, **changes}), 400)

    assert "not supported for this account" in error["errors"][field][0] and "paper" in error["detail"]
    assert not Order.objects.exists()


@pytest.mark.parametrize("body", [
    {"price": "101"},  # no order_id
    {"order_id": "X", "price": "1"},  # no such order
    [1, 2],
])
def test_bad_modify_input_is_4xx_in_the_contract_shape(user_api, account, body):
    status = 404 if isinstance(body, dict) and "order_id" in body else 400
    assert_error(user_api.put("/api/orders/modify", body, format="json"), status)


@pytest.mark.parametrize("changes,field", [
    ({"quantity": "0"}, "quantity"), ({"price": "x"}, "price"), ({"order_type": "LMT"}, "order_type"),
    ({"validity": "GTC"}, "validity"), ({"disclosed_quantity": "3"}, "disclosed_quantity"),
])
def test_bad_modify_values_are_400_naming_the_field_and_change_nothing(user_api, account, changes, field):
    order_id = place(user_api, PLACE_EXAMPLE).json()["order_id"]

    error = assert_error(user_api.put("/api/orders/modify", {"order_id": order_id, **changes}, format="json"), 400)

    assert field in error["errors"]
    stored = Order.objects.get(broker_order_id=order_id)
    assert (stored.quantity, stored.price, stored.events.filter(source="modify").exists()) == (
        10, Decimal("100.50"), False)


def test_a_modify_with_nothing_to_change_is_400(user_api, account):
    order_id = place(user_api, PLACE_EXAMPLE).json()["order_id"]

    assert_error(user_api.put("/api/orders/modify", {"order_id": order_id, "trigger_price": "0"}, format="json"), 400)


def test_bad_list_parameters_are_400(user_api, account):
    assert_error(user_api.get("/api/orders", {"limit": "0"}), 400)
    assert_error(user_api.get("/api/trades", {"limit": "x"}), 400)
    assert_error(user_api.get("/api/orders", {"broker": "nobroker"}), 400)


def test_every_path_needs_a_jwt(api, account):
    for method, path in [("post", "/api/orders/place"), ("put", "/api/orders/modify"), ("delete", "/api/orders/1"),
                         ("get", "/api/orders"), ("get", "/api/orders/1/history"), ("get", "/api/trades"),
                         ("get", "/api/portfolio/positions"), ("get", "/api/portfolio/holdings"),
                         ("post", "/api/auth/totp-login"), ("post", "/api/auth/totp-validate"),
                         ("post", "/api/auth/logout")]:
        assert_error(getattr(api, method)(path), 401)
    assert BrokerConnection.objects.count() == 1
