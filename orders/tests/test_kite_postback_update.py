"""Kite's UPDATE postbacks (partial fills, modifications) applied end to end through POST /broker/zerodha/postback.

The bodies are Kite's own documented UPDATE sample (resources/postback_update.json)
and its partial-fill variant; each is addressed to the order placed here (its
order id, the account's Kite user) and signed with the account's API secret,
as Kite signs every postback.
"""

import hashlib

import pytest

from brokers.tests.fixtures import wire_body
from orders.models import Order

pytestmark = pytest.mark.django_db(transaction=True)
ACCOUNT, SECRET, ORDER_ID = "ZX4821", "s", "151220000000000"  # kite_wired_account's user and secret; the placed id
SBIN_BUY = {"tradingsymbol": "SBIN", "exchange": "NSE", "transaction_type": "BUY", "quantity": 10,
            "order_type": "LIMIT", "product": "MIS", "price": "419"}


def postback(fixture: str, **changes) -> dict:
    """A recorded Kite postback for the order placed here, signed as Kite signs it."""
    payload = {**wire_body("zerodha", fixture), "order_id": ORDER_ID, "user_id": ACCOUNT, **changes}
    payload["checksum"] = hashlib.sha256(f"{ORDER_ID}{payload['order_timestamp']}{SECRET}".encode()).hexdigest()
    return payload


@pytest.fixture
def placed(user_api, kite_wired_account, kite_wire):
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")
    response = user_api.post(f"/accounts/{ACCOUNT}/orders", SBIN_BUY, format="json")
    assert response.status_code == 200 and response.json()["order_id"] == ORDER_ID
    return Order.objects.get()


def test_an_update_for_a_partial_fill_moves_the_order_to_what_is_filled_and_pending(api, user_api, placed):
    response = api.post("/broker/zerodha/postback", postback("postback_update_partial_fill.json"), format="json")

    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    placed.refresh_from_db()
    assert (placed.status, placed.filled_quantity, placed.pending_quantity) == ("OPEN", 4, 6)
    assert float(placed.average_price) == 419.95
    assert [(e.source, e.status, e.filled_quantity) for e in placed.events.all()][-1] == ("postback", "OPEN", 4)
    shown = user_api.get(f"/accounts/{ACCOUNT}/orders/{placed.order_id}").json()
    assert (shown["status"], shown["filled_quantity"], shown["pending_quantity"], shown["average_price"]) == (
        "OPEN", 4, 6, 419.95)


def test_an_update_for_a_modification_is_applied_not_a_bad_gateway(api, placed):
    response = api.post("/broker/zerodha/postback", postback("postback_update.json", quantity=10, pending_quantity=10),
                        format="json")

    assert response.status_code == 200
    placed.refresh_from_db()
    assert (placed.status, placed.filled_quantity, placed.pending_quantity) == ("OPEN", 0, 10)
    assert float(placed.price) == 420  # the modified price Kite reports


def test_updates_then_kites_complete_postback_finish_the_order(api, placed):
    for filled in (4, 7):
        api.post("/broker/zerodha/postback", postback("postback_update_partial_fill.json", filled_quantity=filled,
                                                      pending_quantity=10 - filled), format="json")
    placed.refresh_from_db()
    assert (placed.status, placed.filled_quantity) == ("OPEN", 7)

    complete = postback("postback.json", order_type="LIMIT", product="MIS", price=419, quantity=10,
                        filled_quantity=10, pending_quantity=0, average_price=419.9)  # Kite's sample, as this order
    response = api.post("/broker/zerodha/postback", complete, format="json")

    assert response.status_code == 200
    placed.refresh_from_db()
    assert (placed.status, placed.filled_quantity, placed.pending_quantity) == ("COMPLETE", 10, 0)
    assert [e.filled_quantity for e in placed.events.filter(source="postback")] == [4, 7, 10]


def test_a_late_update_does_not_take_back_fills_of_a_completed_order(api, placed):
    api.post("/broker/zerodha/postback", postback("postback.json", order_type="LIMIT", product="MIS", price=419,
                                                  quantity=10, filled_quantity=10, pending_quantity=0), format="json")

    response = api.post("/broker/zerodha/postback", postback("postback_update_partial_fill.json"), format="json")

    assert response.status_code == 200
    placed.refresh_from_db()
    assert (placed.status, placed.filled_quantity) == ("COMPLETE", 10)


def test_an_update_signed_with_another_secret_is_refused_and_changes_nothing(api, placed):
    forged = {**postback("postback_update_partial_fill.json"), "checksum": wire_body(
        "zerodha", "postback_update.json")["checksum"]}  # the truncated checksum in Kite's documentation

    response = api.post("/broker/zerodha/postback", forged, format="json")

    assert response.status_code == 403 and response.json()["status_code"] == 403
    placed.refresh_from_db()
    assert (placed.status, placed.filled_quantity) == ("OPEN", 0)
