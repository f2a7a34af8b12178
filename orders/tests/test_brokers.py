"""Orders on Zerodha and Kotak Neo through the API, the real SDKs answering from recorded broker responses."""

import hashlib
import json
from urllib.parse import parse_qs

from datetime import datetime

import pytest
import requests

from brokers.calendar import IST
from brokers.tests.fixtures import KITE_ROOT, NEO_TRADE_HOST, wire_body
from orders.models import Order

pytestmark = pytest.mark.django_db(transaction=True)
LIMIT_BUY = {"tradingsymbol": "INFY", "exchange": "NSE", "transaction_type": "BUY", "quantity": 1,
             "order_type": "LIMIT", "product": "CNC", "price": "1500", "tag": "strategy1"}


def sent_form(call) -> dict:
    return {name: values[0] for name, values in parse_qs(call.request.body).items()}


def book_with(order: Order, status: str, **fields) -> dict:
    """Kite's order book with one row for `order`, found by its tag as a lost answer would be."""
    row = dict(wire_body("zerodha", "orders_book.json")["data"][4])
    row.update(order_id="151220000000000", tag=order.broker_tag, status=status, tradingsymbol="INFY",
               quantity=1, price=1500, **fields)
    return {"status": "success", "data": [row]}


def test_kite_order_is_placed_with_its_own_tag_and_saved_open(user_api, kite_wired_account, kite_wire):
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")

    response = user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json")

    assert response.json() == {"status": "success", "account_id": "ZX4821", "success": True,
                               "order_id": "151220000000000", "message": "Order placed successfully"}
    order = Order.objects.get()
    form = sent_form(kite_wire.calls("/orders/regular")[0])
    assert (form["tradingsymbol"], form["price"], form["tag"]) == ("INFY", "1500.00", order.broker_tag)
    assert order.tag == "strategy1" and order.status == "OPEN"
    assert [e.status for e in order.events.all()] == ["PENDING", "OPEN"]


def test_kite_margin_refusal_is_seed_004s_error_and_the_order_is_kept(user_api, kite_wired_account, kite_wire):
    kite_wire.reply("POST", "/orders/regular", "orders_place_insufficient_margin.json", status=400)

    response = user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json")

    reason = wire_body("zerodha", "orders_place_insufficient_margin.json")["message"]
    assert response.status_code == 400
    assert response.json() == {**response.json(), "status": "error", "success": False, "error": reason}
    assert Order.objects.get().status == "REJECTED" and Order.objects.get().status_message == reason


def test_kite_timeout_then_retry_with_the_same_key_finds_the_order_and_places_no_second(
        user_api, kite_wired_account, kite_wire):
    kite_wire.fail("POST", "/orders/regular", requests.exceptions.ReadTimeout())
    first = user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json", HTTP_IDEMPOTENCY_KEY="kite-1")
    order = Order.objects.get()
    assert first.status_code == 504 and order.status == "UNKNOWN"
    kite_wire.mock.add("GET", f"{KITE_ROOT}/orders", json=book_with(order, "OPEN"))
    kite_wire.reply("GET", "/trades", "trades.json")

    retry = user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json", HTTP_IDEMPOTENCY_KEY="kite-1")

    assert retry.status_code == 200 and retry.json()["order_id"] == "151220000000000"
    assert len(kite_wire.calls("/orders/regular")) == 1
    order.refresh_from_db()
    assert (order.status, order.broker_order_id, Order.objects.count()) == ("OPEN", "151220000000000", 1)
    assert [e.source for e in order.events.all()] == ["user", "broker", "reconcile"]


def _postback(order_id: str, secret: str, **fields) -> dict:
    payload = {"user_id": "ZX4821", "order_id": order_id, "order_timestamp": "2026-11-16 10:05:12",
               "exchange_timestamp": "2026-11-16 10:05:12", "status": "COMPLETE", "tradingsymbol": "INFY",
               "exchange": "NSE", "transaction_type": "BUY", "order_type": "LIMIT", "product": "CNC",
               "variety": "regular", "validity": "DAY", "quantity": 1, "filled_quantity": 1,
               "pending_quantity": 0, "price": 1500, "trigger_price": 0, "average_price": 1499.5,
               "status_message": None, "tag": None, **fields}
    payload["checksum"] = hashlib.sha256(f"{order_id}{payload['order_timestamp']}{secret}".encode()).hexdigest()
    return payload


def test_kite_postback_with_a_good_checksum_completes_the_order(api, user_api, kite_wired_account, kite_wire):
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")
    user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json")

    response = api.post("/broker/zerodha/postback", _postback("151220000000000", "s"), format="json")

    order = Order.objects.get()
    assert response.status_code == 200
    assert (order.status, order.filled_quantity, float(order.average_price)) == ("COMPLETE", 1, 1499.5)
    assert order.events.last().source == "postback"


@pytest.mark.parametrize("secret, fields", [("not-the-secret", {}), ("s", {"checksum": "0" * 64})])
def test_a_forged_postback_is_403_and_changes_nothing(api, user_api, kite_wired_account, kite_wire, secret, fields):
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")
    user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json")

    response = api.post("/broker/zerodha/postback", {**_postback("151220000000000", secret), **fields}, format="json")

    assert response.status_code == 403 and response.json()["status_code"] == 403
    assert Order.objects.get().status == "OPEN" and Order.objects.get().events.count() == 2


def test_a_postback_missing_its_checksum_is_400(api):
    assert api.post("/broker/zerodha/postback", {"user_id": "ZX4821"}, format="json").status_code == 400


def test_kotak_order_is_placed_with_mapped_values_and_saved(user_api, neo_wired_account, neo_wire):
    neo_wire.reply("POST", f"{NEO_TRADE_HOST}/quick/order/rule/ms/place", "order_place_success.json")

    response = user_api.post("/accounts/AB123/orders", LIMIT_BUY, format="json")

    assert response.json()["order_id"] == "250122000612876"
    [call] = neo_wire.calls(f"{NEO_TRADE_HOST}/quick/order/rule/ms/place")
    sent = json.loads(parse_qs(call.content.decode())["jData"][0])
    assert (sent["ts"], sent["es"], sent["tt"], sent["pt"], sent["ig"]) == (
        "INFY", "nse_cm", "B", "L", Order.objects.get().broker_tag)


def test_kotak_refusal_is_seed_004s_error(user_api, neo_wired_account, neo_wire):
    neo_wire.reply("POST", f"{NEO_TRADE_HOST}/quick/order/rule/ms/place", "order_place_insufficient_balance.json")

    response = user_api.post("/accounts/AB123/orders", LIMIT_BUY, format="json")

    assert response.status_code == 400 and response.json()["error"].startswith("Insufficient balance")
    assert Order.objects.get().status == "REJECTED"


def test_kite_allows_25_modifications_of_one_order(user_api, kite_wired_account, kite_wire):
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")
    kite_wire.reply("PUT", "/orders/regular/151220000000000", "orders_modify_success.json")
    kite_wire.reply("GET", "/trades", "trades.json")
    user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json")
    kite_wire.mock.add("GET", f"{KITE_ROOT}/orders", json=book_with(Order.objects.get(), "OPEN"))
    path = "/accounts/ZX4821/orders/151220000000000"

    answers = [user_api.patch(path, {"price": str(1490 + n % 5)}, format="json").status_code for n in range(26)]

    assert answers[:25] == [200] * 25 and answers[25] == 429


def test_orders_beyond_the_per_second_budget_wait_for_the_next_second(user_api, kite_wired_account, kite_wire,
                                                                    settings):
    settings.BROKER_ORDER_RATE_LIMITS = {"zerodha": [(2, 1)]}
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")

    for _ in range(5):
        assert user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json").status_code == 200

    sent_at = [int(order.events.get(status="OPEN").at.timestamp()) for order in Order.objects.all()]
    assert max(sent_at.count(second) for second in set(sent_at)) <= 2 and len(set(sent_at)) >= 3


NEO_FILES = "https://lapi.kotaksecurities.com/wso2-scripmaster/v1/prod/2026-12-01/transformed-v1/"
MASTER_DAY = datetime(2026, 12, 1, 11, 0, tzinfo=IST)  # the recorded masters' day, in session


@pytest.fixture
def on_master_day(monkeypatch):
    """The clock the master checks read, held on the recorded masters' day."""
    monkeypatch.setattr("brokers.selectors.timezone.now", lambda: MASTER_DAY)
    return MASTER_DAY


@pytest.mark.parametrize("fields, field", [
    ({"tradingsymbol": "NIFTY26DECFUT", "exchange": "NFO", "product": "NRML", "quantity": 50, "price": "24500"},
     "quantity"),
    ({"tradingsymbol": "NIFTY26DECFUT", "exchange": "NFO", "product": "NRML", "quantity": 65, "price": "24500.05"},
     "price"),
    ({"tradingsymbol": "NOSUCH"}, "tradingsymbol"),
    ({"tradingsymbol": "NIFTY 50"}, "tradingsymbol"),  # an index is listed but not traded
    ({"tradingsymbol": "ITC", "price": "400.03"}, "price"),
])
def test_kite_orders_are_checked_against_the_days_instrument_master(user_api, kite_wired_account, kite_wire,
                                                                     on_master_day, fields, field):
    from brokers.instruments import instruments_refresh

    kite_wire.reply_csv("/instruments", "instruments.csv")
    instruments_refresh(connection=kite_wired_account, now=on_master_day)

    response = user_api.post("/accounts/ZX4821/orders", {**LIMIT_BUY, **fields}, format="json")

    assert response.status_code == 400 and field in response.json()["errors"]
    assert not kite_wire.calls("/orders/regular") and not Order.objects.exists()


def test_kite_orders_on_the_master_pass_each_bound(user_api, kite_wired_account, kite_wire, on_master_day):
    from brokers.instruments import instruments_refresh

    kite_wire.reply_csv("/instruments", "instruments.csv")
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")
    instruments_refresh(connection=kite_wired_account, now=on_master_day)
    future = {"tradingsymbol": "NIFTY26DECFUT", "exchange": "NFO", "product": "NRML"}

    for fields in ({**future, "quantity": 65, "price": "24500.1"}, {**future, "quantity": 130, "price": "24500"},
                   {"tradingsymbol": "IDEA", "price": "7.23"},
                   # a contract the morning's master does not list yet: the broker decides
                   {"tradingsymbol": "NIFTY26DEC99000CE", "exchange": "NFO", "product": "NRML", "quantity": 65}):
        assert user_api.post("/accounts/ZX4821/orders", {**LIMIT_BUY, **fields}, format="json").status_code == 200
    assert len(kite_wire.calls("/orders/regular")) == 4


def test_kite_orders_go_unchecked_while_no_current_master_is_stored(user_api, kite_wired_account, kite_wire):
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")

    response = user_api.post("/accounts/ZX4821/orders", {**LIMIT_BUY, "tradingsymbol": "NEWLISTING"}, format="json")

    assert response.status_code == 200  # the broker decides; BudhiTrade cannot say it is unknown


def test_kotak_orders_are_checked_against_the_scrip_master(user_api, neo_wired_account, neo_wire, on_master_day):
    from brokers.instruments import instruments_refresh

    neo_wire.serve_scrip_master()
    neo_wire.reply("POST", f"{NEO_TRADE_HOST}/quick/order/rule/ms/place", "order_place_success.json")
    assert instruments_refresh(connection=neo_wired_account, now=on_master_day) == 14

    unknown = user_api.post("/accounts/AB123/orders", {**LIMIT_BUY, "tradingsymbol": "ITC"}, format="json")
    off_tick = user_api.post("/accounts/AB123/orders", {**LIMIT_BUY, "tradingsymbol": "ITC-EQ", "price": "400.03"},
                             format="json")
    placed = user_api.post("/accounts/AB123/orders", {**LIMIT_BUY, "tradingsymbol": "ITC-EQ", "price": "400.05"},
                           format="json")

    assert unknown.status_code == 400 and "tradingsymbol" in unknown.json()["errors"]
    assert off_tick.status_code == 400 and "price" in off_tick.json()["errors"]
    assert placed.status_code == 200
    assert len(neo_wire.calls(f"{NEO_TRADE_HOST}/quick/order/rule/ms/place")) == 1


def test_a_postback_finished_order_gets_its_fills_from_the_next_reconcile(api, user_api, kite_wired_account,
                                                                          kite_wire):
    from orders.reconcile import order_reconcile
    from orders.tasks import order_reconcile_due_task

    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")
    user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json")
    api.post("/broker/zerodha/postback", _postback("151220000000000", "s"), format="json")
    order = Order.objects.get()
    assert order.status == "COMPLETE" and not order.trades.exists()
    trades = wire_body("zerodha", "trades.json")
    trades["data"][0].update(order_id="151220000000000", tradingsymbol="INFY", quantity=1, average_price=1499.5)
    kite_wire.mock.add("GET", f"{KITE_ROOT}/trades", json=trades)
    kite_wire.mock.add("GET", f"{KITE_ROOT}/orders", json=book_with(order, "COMPLETE", filled_quantity=1,
                                                                    pending_quantity=0, average_price=1499.5))

    assert order_reconcile_due_task() == 1  # a finished order whose fills are missing still needs its books
    order_reconcile(connection=kite_wired_account)

    [trade] = order.trades.all()
    assert (trade.quantity, float(trade.price)) == (1, 1499.5)
    assert order_reconcile_due_task() == 0  # nothing left to learn


def test_a_connection_dropped_after_sending_leaves_the_order_unknown_not_rejected(user_api, kite_wired_account,
                                                                                   kite_wire):
    kite_wire.fail("POST", "/orders/regular", requests.exceptions.ConnectionError("Connection aborted."))

    response = user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json")

    order = Order.objects.get()
    assert response.status_code == 503 and order.status == "UNKNOWN"  # it may be at Kite: the book will say
    assert response.json()["order_id"] == order.order_id and response.json()["order_status"] == "UNKNOWN"


def test_a_redis_outage_before_sending_is_a_503_and_a_retry_answers_with_the_orders_outcome(user_api, kite_wired_account,
                                                                                       kite_wire, monkeypatch):
    import redis

    def redis_down(**kwargs):
        raise redis.exceptions.ConnectionError("Connection refused")

    monkeypatch.setattr("orders.services.throttle_wait", redis_down)
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")

    first = user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json", HTTP_IDEMPOTENCY_KEY="outage-1")
    again = user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json", HTTP_IDEMPOTENCY_KEY="outage-1")

    order = Order.objects.get()
    assert first.status_code == 503 and first.json()["order_id"] == order.order_id
    assert (order.status, order.status_message) == ("REJECTED", "Not sent: BudhiTrade could not take the broker's "
                                                                "call budget.")
    # Answered from the saved order (not "still being processed", nothing placed again): it was not sent.
    assert again.status_code == 400 and again.json()["error"].startswith("Not sent") and Order.objects.count() == 1
    assert not kite_wire.calls("/orders/regular")


def test_an_open_order_of_an_earlier_day_missing_from_the_book_has_expired(user_api, kite_wired_account, kite_wire):
    from datetime import timedelta

    from django.utils import timezone

    from orders.reconcile import order_reconcile

    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")
    user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json")
    Order.objects.update(order_timestamp=timezone.now() - timedelta(days=3))
    kite_wire.reply("GET", "/orders", "orders_book_empty.json")
    kite_wire.reply("GET", "/trades", "trades.json")

    assert order_reconcile(connection=kite_wired_account) == 1

    order = Order.objects.get()
    assert order.status == "CANCELLED" and order.status_message.startswith("Expired with its trading day")


def test_a_postback_reaches_the_order_when_two_users_connected_the_same_kite_account(
        api, make_user, user_api, kite_wired_account, kite_wire):
    from brokers.models import BrokerConnection

    other = BrokerConnection.objects.create(user=make_user(), broker="zerodha", account_id="ZX4821",
                                            status="connected", credentials={"api_key": "kitekey123", "api_secret": "s"},
                                            session={"access_token": "kAcc3ssT0kenValue9"})
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")
    user_api.post("/accounts/ZX4821/orders", LIMIT_BUY, format="json")
    # the order belongs to the account looked at last, after one whose secret also signs the postback
    Order.objects.update(connection=max(other, kite_wired_account, key=lambda connection: connection.pk))

    response = api.post("/broker/zerodha/postback", _postback("151220000000000", "s"), format="json")

    assert response.status_code == 200
    assert Order.objects.get().status == "COMPLETE"
