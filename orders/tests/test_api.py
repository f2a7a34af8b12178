"""Orders on the paper exchange through the API: place, validate, modify, cancel, history, trades, batch, idempotency."""

from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from brokers.paper import market
from brokers.models import BrokerConnection
from brokers.paper.models import PaperOrder
from brokers.tests.fixtures import PAPER_START_DAY, ist, wait_for
from orders import services
from orders.models import Order
from orders.tests.book import account, ltp, order  # noqa: F401 (account is a fixture)
from portfolio.models import Position

pytestmark = pytest.mark.django_db(transaction=True)

ORDER_FIELDS = {"order_id", "exchange_order_id", "tradingsymbol", "exchange", "transaction_type", "order_type",
                "product", "quantity", "pending_quantity", "filled_quantity", "price", "average_price", "status",
                "status_message", "order_timestamp", "exchange_timestamp", "variety", "validity", "tag",
                "trigger_price", "cancelled_quantity", "disclosed_quantity", "validity_ttl", "exchange_update_timestamp"}


def place(api, account, **fields):
    return api.post(f"/accounts/{account}/orders", order(**fields), format="json")


def test_market_order_fills_at_once_and_shows_in_the_book_trades_and_positions(user_api, account, celery_worker):
    price = ltp("ITC")

    response = place(user_api, account, quantity=10)

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "success" and body["success"] is True and body["message"] == "Order placed successfully"
    [listed] = user_api.get(f"/accounts/{account}/orders").json()["orders"]
    assert set(listed) == ORDER_FIELDS
    assert (listed["order_id"], listed["status"], listed["filled_quantity"], listed["pending_quantity"]) == (
        body["order_id"], "COMPLETE", 10, 0)
    assert listed["average_price"] == float(price) and listed["status_message"] == "Order executed"
    [trade] = user_api.get(f"/accounts/{account}/trades", {"order_id": body["order_id"]}).json()["trades"]
    assert (trade["quantity"], trade["price"], trade["order_id"]) == (10, float(price), body["order_id"])
    history = user_api.get(f"/accounts/{account}/orders/{body['order_id']}/history").json()["history"]
    assert [event["status"] for event in history] == ["PENDING", "COMPLETE"]
    positions = Position.objects.filter(connection__account_id=account, tradingsymbol="ITC", quantity=10)
    assert wait_for(positions.exists)  # refreshed by a worker after the fill


def test_a_large_market_order_walks_the_depth_and_pays_slippage(user_api, paper_market):
    account = user_api.post("/broker/connect/initiate", {"broker": "paper", "opening_cash": 20_000_000},
                            format="json").json()["account_id"]
    price = ltp("NIFTY26NOVFUT")
    body = place(user_api, account, tradingsymbol="NIFTY26NOVFUT", exchange="NFO", quantity=65 * 50,
                 product="NRML").json()

    stored = Order.objects.get(broker_order_id=body["order_id"])
    # five levels of 20 lots each: 50 lots fill across three levels, one tick apart
    assert stored.filled_quantity == 65 * 50 and stored.trades.count() == 3
    assert stored.average_price > price
    assert sorted(stored.trades.values_list("price", flat=True)) == [price, price + Decimal("0.05"),
                                                                      price + Decimal("0.10")]


def test_limit_order_rests_then_fills_when_modified_through_the_market(user_api, account):
    below = ltp("INFY") - Decimal("20")
    body = place(user_api, account, tradingsymbol="INFY", order_type="LIMIT", price=str(below)).json()
    path = f"/accounts/{account}/orders/{body['order_id']}"
    assert user_api.get(path).json()["status"] == "OPEN"

    modified = user_api.patch(path, {"price": str(ltp("INFY") + 5)}, format="json").json()

    assert modified["status"] == "COMPLETE" and modified["average_price"] == float(ltp("INFY"))
    history = user_api.get(f"{path}/history").json()["history"]
    assert [e["status"] for e in history] == ["PENDING", "OPEN", "OPEN", "COMPLETE"]
    assert history[2]["source"] == "modify"


def test_cancel_an_open_order_and_a_finished_one_cannot_be(user_api, account):
    body = place(user_api, account, order_type="LIMIT", price=str(ltp("ITC") - 10)).json()
    path = f"/accounts/{account}/orders/{body['order_id']}"

    assert user_api.delete(path).json()["status"] == "CANCELLED"
    again = user_api.delete(path)
    assert again.status_code == 409 and again.json()["status_code"] == 409


def test_stop_loss_waits_for_its_trigger(user_api, account):
    place(user_api, account, quantity=100)  # shares to protect
    far = place(user_api, account, transaction_type="SELL", order_type="SL-M", quantity=100,
                trigger_price=str(ltp("ITC") - 50)).json()
    near = place(user_api, account, transaction_type="SELL", order_type="SL-M", quantity=50, product="MIS",
                 trigger_price=str(ltp("ITC") + Decimal("0.05"))).json()

    assert Order.objects.get(broker_order_id=far["order_id"]).status == "TRIGGER PENDING"
    assert Order.objects.get(broker_order_id=near["order_id"]).status == "COMPLETE"


def test_insufficient_margin_is_seed_004s_error_and_the_order_is_kept_rejected(user_api, account):
    response = place(user_api, account, tradingsymbol="MARUTI", quantity=100)

    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["success"], body["error"]) == ("error", False, "Insufficient margin")
    [kept] = user_api.get(f"/accounts/{account}/orders", {"status": "REJECTED"}).json()["orders"]
    assert kept["status_message"] == "Insufficient margin" and kept["tradingsymbol"] == "MARUTI"


def live_limits(api, account) -> dict:
    return api.get("/api/portfolio/limits", HTTP_X_ACCOUNT_ID=account).json()["data"]


def test_open_orders_block_their_margin_until_they_end(user_api, paper_market):
    account = user_api.post("/broker/connect/initiate", {"broker": "paper", "opening_cash": 100000},
                            format="json").json()["account_id"]
    below = ltp("ITC") - 10
    first = place(user_api, account, order_type="LIMIT", price=str(below), quantity=150)
    assert first.status_code == 200
    blocked = float(below * 150)
    assert live_limits(user_api, account)["open_orders"] == blocked
    assert live_limits(user_api, account)["net"] == 100000 - blocked

    second = place(user_api, account, order_type="LIMIT", price=str(below), quantity=150)

    assert second.status_code == 400 and second.json()["error"] == "Insufficient margin"
    user_api.delete(f"/accounts/{account}/orders/{first.json()['order_id']}")
    assert live_limits(user_api, account)["open_orders"] == 0
    assert place(user_api, account, order_type="LIMIT", price=str(below), quantity=150).status_code == 200


def test_a_modification_beyond_the_free_funds_is_refused_and_changes_nothing(user_api, paper_market):
    account = user_api.post("/broker/connect/initiate", {"broker": "paper", "opening_cash": 100000},
                            format="json").json()["account_id"]
    below = ltp("ITC") - 10
    body = place(user_api, account, order_type="LIMIT", price=str(below), quantity=100).json()
    path = f"/accounts/{account}/orders/{body['order_id']}"

    refused = user_api.patch(path, {"quantity": 1000}, format="json")

    assert refused.status_code == 400 and refused.json()["error"] == "Insufficient margin"
    assert user_api.get(path).json()["quantity"] == 100
    assert PaperOrder.objects.get(order_id=body["order_id"]).quantity == 100
    assert live_limits(user_api, account)["open_orders"] == float(below * 100)
    assert user_api.patch(path, {"quantity": 200}, format="json").json()["quantity"] == 200
    assert live_limits(user_api, account)["open_orders"] == float(below * 200)


def test_a_modification_that_blocks_less_passes_even_when_funds_are_short(user_api, paper_market):
    from brokers.paper.models import PaperAccount

    account = user_api.post("/broker/connect/initiate", {"broker": "paper", "opening_cash": 100000},
                            format="json").json()["account_id"]
    below = ltp("ITC") - 10
    path = f"/accounts/{account}/orders/" + place(user_api, account, order_type="LIMIT", price=str(below),
                                                  quantity=200).json()["order_id"]
    PaperAccount.objects.filter(account_id=account).update(cash=30000)  # say, losses settled elsewhere

    smaller = user_api.patch(path, {"quantity": 100}, format="json")
    larger = user_api.patch(path, {"quantity": 150}, format="json")

    assert smaller.status_code == 200 and smaller.json()["quantity"] == 100
    assert larger.status_code == 400 and larger.json()["error"] == "Insufficient margin"
    assert live_limits(user_api, account)["open_orders"] == float(below * 100)


def test_a_second_exit_of_the_same_position_is_judged_as_a_new_short(user_api, account):
    assert place(user_api, account, product="MIS", quantity=100).status_code == 200
    above = str(ltp("ITC") + 20)
    sell = {"transaction_type": "SELL", "order_type": "LIMIT", "price": above, "product": "MIS", "quantity": 100}

    assert place(user_api, account, **sell).status_code == 200
    assert live_limits(user_api, account)["open_orders"] == 0  # an exit blocks nothing
    assert place(user_api, account, **sell).status_code == 200

    # if both fill the account is short 100: the second blocks that short's intraday margin (20%)
    assert live_limits(user_api, account)["open_orders"] == pytest.approx(0.2 * 100 * float(ltp("ITC")), rel=0.01)


def test_open_delivery_sells_hold_their_shares(user_api, account):
    place(user_api, account, quantity=100)  # bought today: sellable as a delivery position
    above = str(ltp("ITC") + 20)

    assert place(user_api, account, transaction_type="SELL", order_type="LIMIT", price=above,
                 quantity=60).status_code == 200
    again = place(user_api, account, transaction_type="SELL", order_type="LIMIT", price=above, quantity=60)

    assert again.status_code == 400 and again.json()["error"].startswith("Insufficient holdings to sell")
    assert place(user_api, account, transaction_type="SELL", order_type="LIMIT", price=above,
                 quantity=40).status_code == 200


@pytest.mark.parametrize("fields, field", [
    ({"tradingsymbol": ""}, "tradingsymbol"),
    ({"tradingsymbol": "X" * 51}, "tradingsymbol"),
    ({"exchange": "NYSE"}, "exchange"),
    ({"transaction_type": "HOLD"}, "transaction_type"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": 10001}, "quantity"),
    ({"order_type": "STOP"}, "order_type"),
    ({"product": "BO"}, "product"),
    ({"order_type": "LIMIT"}, "price"),
    ({"order_type": "SL", "trigger_price": "400"}, "price"),
    ({"order_type": "SL", "price": "400"}, "trigger_price"),
    ({"order_type": "SL-M"}, "trigger_price"),
    ({"validity": "GTC"}, "validity"),
    ({"price": "-1", "order_type": "LIMIT"}, "price"),
    ({"product": "NRML"}, "product"),
    ({"tradingsymbol": "NIFTY26NOVFUT", "exchange": "NFO", "product": "CNC", "quantity": 65}, "product"),
    ({"tradingsymbol": "NOSUCHSTOCK"}, "tradingsymbol"),
    ({"tradingsymbol": "NIFTY26NOVFUT", "exchange": "NFO", "product": "NRML", "quantity": 50}, "quantity"),
    ({"order_type": "LIMIT", "price": "400.03"}, "price"),
])
def test_each_validation_rule_refuses_with_400_and_saves_nothing(user_api, account, fields, field):
    response = place(user_api, account, **fields)

    assert response.status_code == 400 and response.json()["status_code"] == 400
    assert field in response.json()["errors"]
    assert not Order.objects.exists() and not PaperOrder.objects.exists()


def test_an_order_for_a_paper_index_is_refused_as_an_index(user_api, account):
    response = place(user_api, account, tradingsymbol="NIFTY 50", product="MIS")

    assert response.status_code == 400
    assert response.json()["detail"] == "NSE:NIFTY 50 is an index: it can be quoted, not ordered."
    assert not Order.objects.exists() and not PaperOrder.objects.exists()


@pytest.mark.parametrize("fields", [
    {"quantity": 1}, {"quantity": 10000, "product": "MIS"}, {"tradingsymbol": "M&M"},
    {"order_type": "LIMIT", "price": "400.05"}, {"validity": "IOC"},
])
def test_values_on_the_edge_of_each_rule_are_accepted(user_api, account, fields):
    assert place(user_api, account, **fields).status_code == 200


def test_same_idempotency_key_and_body_places_once_and_another_body_is_409(user_api, account):
    first = user_api.post(f"/accounts/{account}/orders", order(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = user_api.post(f"/accounts/{account}/orders", order(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    other = user_api.post(f"/accounts/{account}/orders", order(quantity=11), format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert first.json() == again.json() and first.status_code == again.status_code == 200
    assert other.status_code == 409
    assert Order.objects.count() == 1 and PaperOrder.objects.count() == 1


def test_batch_without_rollback_keeps_what_was_placed(user_api, account):
    body = {"orders": [order(), order(tradingsymbol="MARUTI", quantity=100), order()], "rollback_on_failure": False}

    response = user_api.post(f"/accounts/{account}/batch-orders", body, format="json").json()

    assert (response["succeeded"], response["failed"], len(response["order_ids"])) == (2, 1, 2)


def test_a_batch_with_an_invalid_order_places_nothing(user_api, account):
    body = {"orders": [order(), order(quantity=0)], "rollback_on_failure": True}
    response = user_api.post(f"/accounts/{account}/batch-orders", body, format="json")
    assert response.status_code == 400 and "orders[1]" in response.json()["errors"]
    assert not Order.objects.exists()


def test_market_closed_refuses_regular_orders_and_takes_after_market_orders(user_api, account):
    market.market_advance(to=ist(PAPER_START_DAY, 16, 0))

    closed = place(user_api, account)
    amo = place(user_api, account, variety="amo").json()

    assert closed.status_code == 400 and "closed" in closed.json()["error"]
    assert Order.objects.get(broker_order_id=amo["order_id"]).status == "OPEN"
    market.market_advance(to=ist(PAPER_START_DAY.replace(day=17), 9, 15))
    assert Order.objects.get(broker_order_id=amo["order_id"]).status == "COMPLETE"


def test_open_intraday_orders_cancel_at_the_square_off_and_day_orders_at_the_close(user_api, account):
    mis = place(user_api, account, product="MIS", order_type="LIMIT", price=str(ltp("ITC") - 40)).json()
    day = place(user_api, account, order_type="LIMIT", price=str(ltp("ITC") - 40)).json()

    market.market_advance(to=ist(PAPER_START_DAY, 15, 21))
    assert Order.objects.get(broker_order_id=mis["order_id"]).status == "CANCELLED"
    assert Order.objects.get(broker_order_id=day["order_id"]).status == "OPEN"
    market.market_advance(to=ist(PAPER_START_DAY, 15, 31))
    assert Order.objects.get(broker_order_id=day["order_id"]).status_message == "Order expired at the close"


def test_status_and_limit_filters(user_api, account):
    for _ in range(3):
        place(user_api, account)
    place(user_api, account, order_type="LIMIT", price=str(ltp("ITC") - 10))

    assert user_api.get(f"/accounts/{account}/orders", {"status": "OPEN"}).json()["count"] == 1
    assert user_api.get(f"/accounts/{account}/orders", {"limit": 2}).json()["count"] == 2
    assert user_api.get(f"/accounts/{account}/orders", {"status": "DONE"}).status_code == 400
    assert user_api.get(f"/accounts/{account}/orders", {"limit": 0}).status_code == 400
    assert len(user_api.get(f"/accounts/{account}/trades", {"limit": 2}).json()["trades"]) == 2
    bad = user_api.get(f"/accounts/{account}/trades", {"limit": "many"})
    assert bad.status_code == 400 and set(bad.json()) == {"detail", "status_code"}


def test_reading_orders_costs_the_same_queries_however_many_there_are(user_api, account, celery_worker):
    counts = []
    for size in (2, 20):
        while Order.objects.count() < size:
            place(user_api, account, quantity=1)
        order_id = Order.objects.first().order_id
        with CaptureQueriesContext(db) as queries:
            assert user_api.get(f"/accounts/{account}/orders").json()["count"] == size
            assert len(user_api.get(f"/accounts/{account}/trades").json()["trades"]) == size
            assert user_api.get(f"/accounts/{account}/orders/{order_id}/history").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 15


def test_placing_an_order_takes_a_bounded_number_of_queries(user_api, account):
    services._SPECS.clear()
    below = str(ltp("ITC") - 10)
    counts = []
    for _ in range(2):
        with CaptureQueriesContext(db) as queries:
            assert place(user_api, account, order_type="LIMIT", price=below).status_code == 200
        counts.append(len(queries))
    # the instrument's lot and tick sizes are looked up once, then kept for the next order
    assert counts[1] == counts[0] - 1 <= 27


def test_another_users_account_and_orders_are_404_on_every_path(user_api, other_api, account):
    order_id = place(user_api, account, order_type="LIMIT", price=str(ltp("ITC") - 10)).json()["order_id"]
    paths = [f"/accounts/{account}/orders", f"/accounts/{account}/orders/{order_id}",
             f"/accounts/{account}/orders/{order_id}/history", f"/accounts/{account}/trades"]

    assert all(other_api.get(path).status_code == 404 for path in paths)
    assert other_api.post(paths[0], order(), format="json").status_code == 404
    assert other_api.patch(paths[1], {"price": "1"}, format="json").status_code == 404
    assert other_api.delete(paths[1]).status_code == 404
    assert other_api.post(f"/accounts/{account}/batch-orders", {"orders": [order()]}, format="json").status_code == 404
    assert Order.objects.get().status == "OPEN" and Order.objects.count() == 1


def test_a_disconnected_account_takes_no_orders(user_api, account):
    BrokerConnection.objects.filter(account_id=account).update(status="disconnected")
    response = place(user_api, account)
    assert response.status_code == 409 and not Order.objects.exists()


def test_admin_lists_orders_with_history_and_cancels_an_open_one(client, make_user, user_api, account):
    staff = make_user(is_staff=True, is_superuser=True)
    client.force_login(staff)
    order_id = place(user_api, account, order_type="LIMIT", price=str(ltp("ITC") - 10)).json()["order_id"]
    stored = Order.objects.get(broker_order_id=order_id)

    listing = client.get("/admin/orders/order/", {"status__exact": "OPEN"})
    detail = client.get(f"/admin/orders/order/{stored.pk}/change/")
    client.post("/admin/orders/order/", {"action": "cancel_selected", "_selected_action": [stored.pk]})

    assert listing.status_code == 200 and order_id in listing.content.decode()
    assert detail.status_code == 200 and "Order received" in detail.content.decode()
    assert Order.objects.get(pk=stored.pk).status == "CANCELLED"


def test_with_practice_hours_the_paper_market_trades_in_the_evening(user_api, account, settings):
    settings.PAPER_MARKET_HOURS = "always"
    market.market_advance(to=ist(PAPER_START_DAY, 20, 0))

    body = place(user_api, account).json()

    assert Order.objects.get(broker_order_id=body["order_id"]).status == "COMPLETE"
    market.market_advance(to=ist(PAPER_START_DAY, 23, 50))  # ten minutes before the all-day session closes
    assert market.catalogue.square_off_at(PAPER_START_DAY) == ist(PAPER_START_DAY, 23, 49)
