"""Order rows through the API with every quantity and time the broker gives; orders for an index are refused."""

from datetime import datetime

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from brokers.calendar import IST
from brokers.domain import InstrumentSpec, OrderStatus
from orders.models import Order, Trade
from orders.tests.book import D, BookAdapter, book_account, stored_order  # noqa: F401

pytestmark = pytest.mark.django_db
UPDATED_AT = datetime(2026, 11, 16, 9, 41, 7, tzinfo=IST)
MARKET_BUY = {"exchange": "NSE", "transaction_type": "BUY", "quantity": 1, "order_type": "MARKET", "product": "CNC"}


@pytest.mark.parametrize("symbol", ["NIFTY", "NIFTY BANK"])
def test_an_order_for_an_index_is_refused_naming_it_and_nothing_is_sent(user_api, book_account, symbol):
    BookAdapter.spec = InstrumentSpec(known=True, lot_size=1, tick_size=D("0.05"), orderable=False)

    response = user_api.post("/accounts/ZB1001/orders", {**MARKET_BUY, "tradingsymbol": symbol}, format="json")

    body = response.json()
    assert response.status_code == 400 and body["status_code"] == 400
    assert f"NSE:{symbol}" in body["detail"] and f"NSE:{symbol}" in body["errors"]["tradingsymbol"][0]
    assert BookAdapter.placed == [] and Order.objects.count() == 0


def test_an_orderable_instrument_still_goes_to_the_broker(user_api, book_account):
    BookAdapter.spec = InstrumentSpec(known=True, lot_size=1, tick_size=D("0.05"))

    response = user_api.post("/accounts/ZB1001/orders", {**MARKET_BUY, "tradingsymbol": "INFY"}, format="json")

    assert response.status_code == 200 and len(BookAdapter.placed) == 1


def test_order_rows_show_cancelled_disclosed_ttl_and_exchange_update_time(user_api, book_account):
    order = stored_order(book_account, "201", status=OrderStatus.CANCELLED, filled_quantity=4, pending_quantity=0,
                         cancelled_quantity=6, disclosed_quantity=2, validity="TTL", validity_ttl=15,
                         exchange_update_timestamp=UPDATED_AT)
    Trade.objects.create(order=order, trade_id="T9", quantity=4, price=D("1499.5"), fill_timestamp=UPDATED_AT,
                         exchange_timestamp=UPDATED_AT)

    [listed] = user_api.get("/accounts/ZB1001/orders").json()["orders"]
    detail = user_api.get("/accounts/ZB1001/orders/201").json()
    [trade] = user_api.get("/accounts/ZB1001/trades").json()["trades"]

    assert listed == detail
    assert (detail["cancelled_quantity"], detail["pending_quantity"], detail["disclosed_quantity"]) == (6, 0, 2)
    assert (detail["validity"], detail["validity_ttl"]) == ("TTL", 15)
    assert datetime.fromisoformat(detail["exchange_update_timestamp"]) == UPDATED_AT
    assert datetime.fromisoformat(trade["exchange_timestamp"]) == UPDATED_AT


def test_order_and_trade_lists_cost_the_same_queries_however_many_rows(user_api, book_account):
    counts = []
    for total in (2, 40):
        while Order.objects.count() < total:
            order = stored_order(book_account, str(300 + Order.objects.count()))
            Trade.objects.create(order=order, trade_id=f"T{order.broker_order_id}", quantity=1, price=D("1500"))
        with CaptureQueriesContext(db) as queries:
            assert user_api.get("/accounts/ZB1001/orders").json()["count"] == total
            assert user_api.get("/accounts/ZB1001/trades").json()["count"] == total
        counts.append(len(queries))
    assert counts[0] == counts[1]
