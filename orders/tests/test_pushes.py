"""Every broker push comes in through one entry, orders.pushes.push_receive, as domain objects."""

import hashlib

import pytest

from brokers.domain import BrokerOrder, Fill
from orders import pushes
from orders.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def received(monkeypatch):
    """Each call of the one push entry, passed on to it."""
    calls = []
    entry = pushes.push_receive

    def spy(**kwargs):
        calls.append(kwargs)
        return entry(**kwargs)

    monkeypatch.setattr(pushes, "push_receive", spy)
    return calls


def test_a_paper_fill_arrives_through_the_push_entry_as_domain_objects(user_api, paper_market, received):
    account = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]

    response = user_api.post(f"/accounts/{account}/orders", {
        "tradingsymbol": "ITC", "exchange": "NSE", "transaction_type": "BUY", "quantity": 10,
        "order_type": "MARKET", "product": "CNC"}, format="json")

    assert response.status_code == 200
    [call] = received
    push = call["push"]
    assert (call["connection"].account_id, call["source"]) == (account, "broker")
    assert type(push.update) is BrokerOrder and push.update.status == "COMPLETE"
    assert [type(fill) for fill in push.fills] == [Fill] and push.fills[0].quantity == 10
    order = Order.objects.get()
    assert (order.status, order.filled_quantity, order.trades.count()) == ("COMPLETE", 10, 1)
    assert [event.source for event in order.events.all()] == ["user", "broker"]


def test_a_resting_paper_order_is_recorded_open_by_the_placing_call_not_the_push(user_api, paper_market, received):
    from brokers.paper.models import PaperInstrument

    account = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]
    below = PaperInstrument.objects.get(tradingsymbol="ITC").last_price - 20

    user_api.post(f"/accounts/{account}/orders", {
        "tradingsymbol": "ITC", "exchange": "NSE", "transaction_type": "BUY", "quantity": 10,
        "order_type": "LIMIT", "product": "CNC", "price": str(below)}, format="json")

    assert len(received) == 1 and received[0]["push"].update.status == "OPEN"
    order = Order.objects.get()
    assert [(event.status, event.message) for event in order.events.all()] == [
        ("PENDING", "Order received"), ("OPEN", "Order placed")]


def test_a_kite_postback_arrives_through_the_same_push_entry(api, user_api, kite_wired_account, kite_wire,
                                                             received):
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")
    user_api.post("/accounts/ZX4821/orders", {
        "tradingsymbol": "INFY", "exchange": "NSE", "transaction_type": "BUY", "quantity": 1,
        "order_type": "LIMIT", "product": "CNC", "price": "1500"}, format="json")
    payload = {"user_id": "ZX4821", "order_id": "151220000000000", "order_timestamp": "2026-11-16 10:05:12",
               "exchange_timestamp": "2026-11-16 10:05:12", "status": "CANCELLED", "tradingsymbol": "INFY",
               "exchange": "NSE", "transaction_type": "BUY", "order_type": "LIMIT", "product": "CNC",
               "variety": "regular", "validity": "DAY", "quantity": 1, "filled_quantity": 0,
               "pending_quantity": 0, "cancelled_quantity": 1, "price": 1500, "trigger_price": 0,
               "average_price": 0, "status_message": None, "tag": None}
    payload["checksum"] = hashlib.sha256(b"1512200000000002026-11-16 10:05:12s").hexdigest()

    assert api.post("/broker/zerodha/postback", payload, format="json").status_code == 200

    [call] = received
    assert (call["connection"].pk, call["source"], type(call["push"].update)) == (
        kite_wired_account.pk, "postback", BrokerOrder)
    assert Order.objects.get().status == "CANCELLED"
