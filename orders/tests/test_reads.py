"""The order book, one order, its history and the trade book: rows read in one pass, the same bytes as a serializer
of model instances gives, in a number of queries that does not grow with the rows, with no broker call."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from rest_framework.renderers import JSONRenderer

from brokers.adapters import registry
from brokers.calendar import IST
from brokers.domain import Broker, OrderStatus
from orders.models import Order, OrderEvent, Trade
from orders.tests.book import D, BookAdapter, book_account, stored_order  # noqa: F401
from orders.views import OrderOutputSerializer

pytestmark = pytest.mark.django_db
BOOK = "/accounts/ZB1001"
PLACED = datetime(2026, 11, 16, 9, 20, 5, 123456, tzinfo=IST)
# Every query a read makes: the user (JWT), the account, then its rows; the history also finds the order first.
MOST_QUERIES = 4


class NoBrokerAdapter(BookAdapter):
    """A broker that must not be asked: a read serves stored rows."""

    def __init__(self, **kwargs):
        raise AssertionError("a read called the broker")


@pytest.fixture
def orders_in_every_state(book_account) -> list[Order]:
    """Orders whose columns cover what the body renders: nulls, Decimals to round, times with and without microseconds
    and in other zones, an order the broker never numbered."""
    return [
        stored_order(book_account, "101", status=OrderStatus.COMPLETE, filled_quantity=10, pending_quantity=0,
                     average_price=D("1499.1250"), exchange_order_id="X101", status_message="Order executed",
                     exchange_timestamp=PLACED + timedelta(seconds=1),
                     exchange_update_timestamp=datetime(2026, 11, 16, 4, 0, 0, tzinfo=UTC), tag="swing_1"),
        stored_order(book_account, "102", order_type="MARKET", price=None, average_price=D("1.0050"),
                     filled_quantity=4, pending_quantity=6, status=OrderStatus.OPEN,
                     order_timestamp=datetime(2026, 11, 16, 9, 30, tzinfo=IST)),
        stored_order(book_account, "103", order_type="SL", price=D("1510.05"), trigger_price=D("1505.35"),
                     status=OrderStatus.CANCELLED, pending_quantity=0, cancelled_quantity=10, validity="TTL",
                     validity_ttl=15, disclosed_quantity=2, average_price=D("1500.3333")),
        stored_order(book_account, "", broker_tag="btnotsent", status=OrderStatus.REJECTED, pending_quantity=0,
                     status_message="Not sent: the broker's order budget is spent", order_timestamp=None),
        stored_order(book_account, "105", status=OrderStatus.UNKNOWN, price=D("0.05"), average_price=D("0"),
                     order_timestamp=datetime(2026, 11, 16, 3, 50, 1, tzinfo=UTC)),
    ]


def serializer_body(order: Order) -> dict:
    """An order as the API rendered it from a model instance before reads came from rows."""
    body = OrderOutputSerializer(Order.objects.get(pk=order.pk)).data
    body["average_price"] = round(body["average_price"], 2)
    return body


def rendered(body) -> bytes:
    return JSONRenderer().render(body)


def test_the_order_book_renders_the_bytes_the_serializer_rendered(user_api, orders_in_every_state):
    response = user_api.get(f"{BOOK}/orders")

    newest_first = sorted(orders_in_every_state, key=lambda order: order.created_at, reverse=True)
    expected = [serializer_body(order) for order in newest_first]
    assert response.status_code == 200
    for row, body in zip(response.json()["orders"], expected, strict=True):
        assert list(row) == list(body)
        for name in body:
            assert (name, rendered(row[name])) == (name, rendered(body[name]))
    assert response.content == rendered({"status": "success", "account_id": "ZB1001", "count": len(expected),
                                         "orders": expected})


def test_an_order_the_broker_never_numbered_is_listed_and_read_by_budhitrades_id(user_api, orders_in_every_state):
    unnumbered = orders_in_every_state[3]

    [listed] = user_api.get(f"{BOOK}/orders", {"status": "REJECTED"}).json()["orders"]
    response = user_api.get(f"{BOOK}/orders/{unnumbered.pk}")

    assert listed["order_id"] == str(unnumbered.pk) and listed["order_timestamp"] is None
    assert response.status_code == 200 and response.content == rendered(serializer_body(unnumbered))


def test_one_order_renders_the_bytes_the_serializer_rendered(user_api, orders_in_every_state):
    for order in orders_in_every_state:
        response = user_api.get(f"{BOOK}/orders/{order.order_id}")

        assert response.status_code == 200
        assert response.content == rendered(serializer_body(order))


def test_an_order_not_on_the_account_is_404_in_the_error_shape(user_api, orders_in_every_state):
    response = user_api.get(f"{BOOK}/orders/999")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such order on this account.", "status_code": 404}


def test_history_renders_the_bytes_it_rendered_from_events(user_api, orders_in_every_state):
    order = orders_in_every_state[1]
    for status, filled, average in ((OrderStatus.PENDING, 0, D("0")), (OrderStatus.OPEN, 0, D("0")),
                                    (OrderStatus.OPEN, 4, D("1.0050")), (OrderStatus.OPEN, 4, D("1499.1250"))):
        OrderEvent.objects.create(order=order, status=status, filled_quantity=filled, average_price=average,
                                  message="partly filled" if filled else "", source="broker")

    response = user_api.get(f"{BOOK}/orders/102/history")

    expected = [{"status": event.status, "filled_quantity": event.filled_quantity,
                 "average_price": float(round(event.average_price, 2)), "message": event.message,
                 "source": event.source, "timestamp": event.at.isoformat()} for event in order.events.all()]
    assert len(expected) == 4
    assert response.content == rendered({"status": "success", "order_id": "102", "history": expected})


def test_trades_render_the_bytes_they_rendered_from_instances(user_api, orders_in_every_state):
    complete, open_order = orders_in_every_state[0], orders_in_every_state[1]
    Trade.objects.create(order=complete, trade_id="T1", quantity=6, price=D("1499.00"), exchange_order_id="X101",
                         fill_timestamp=PLACED, exchange_timestamp=PLACED + timedelta(milliseconds=40))
    Trade.objects.create(order=complete, trade_id="T2", quantity=4, price=D("1499.5"), exchange_order_id="X101",
                         fill_timestamp=PLACED + timedelta(seconds=2), exchange_timestamp=None)
    Trade.objects.create(order=open_order, trade_id="T3", quantity=4, price=D("1.01"), fill_timestamp=None)

    everything = user_api.get(f"{BOOK}/trades")
    one_order = user_api.get(f"{BOOK}/trades", {"order_id": "101", "limit": 1})

    def expected(trades) -> list[dict]:
        return [{"trade_id": trade.trade_id, "order_id": trade.order.order_id,
                 "exchange_order_id": trade.exchange_order_id, "tradingsymbol": trade.order.tradingsymbol,
                 "exchange": trade.order.exchange, "transaction_type": trade.order.transaction_type,
                 "product": trade.order.product, "quantity": trade.quantity, "price": float(trade.price),
                 "fill_timestamp": trade.fill_timestamp.isoformat() if trade.fill_timestamp else None,
                 "exchange_timestamp": trade.exchange_timestamp.isoformat() if trade.exchange_timestamp else None}
                for trade in trades]

    newest_first = Trade.objects.select_related("order").order_by("-fill_timestamp", "-id")
    assert [trade["trade_id"] for trade in everything.json()["trades"]] == ["T3", "T2", "T1"]
    assert everything.content == rendered({"status": "success", "account_id": "ZB1001", "count": 3,
                                           "trades": expected(newest_first)})
    assert one_order.content == rendered({"status": "success", "account_id": "ZB1001", "count": 1,
                                          "trades": expected(newest_first.filter(order=complete)[:1])})


def _orders_with_a_fill_and_an_event(connection, total: int) -> None:
    """`total` orders with a fill each, and as many events in the history of order 500."""
    while (count := Order.objects.count()) < total:
        order = stored_order(connection, str(500 + count))
        Trade.objects.create(order=order, trade_id=f"T{count}", quantity=1, price=D("1500"))
        OrderEvent.objects.create(order=Order.objects.get(broker_order_id="500"), status=OrderStatus.OPEN,
                                  source="broker")


def _queries_of_each_read(api) -> dict[str, int]:
    reads = {"book": f"{BOOK}/orders?limit=1000", "order": f"{BOOK}/orders/500",
             "history": f"{BOOK}/orders/500/history", "trades": f"{BOOK}/trades?limit=1000"}
    counts = {}
    for name, path in reads.items():
        with CaptureQueriesContext(db) as queries:
            assert api.get(path).status_code == 200
        counts[name] = len(queries)
    return counts


def test_reads_cost_the_same_few_queries_for_20_orders_as_for_200(user_api, book_account,
                                                                     django_assert_max_num_queries):
    _orders_with_a_fill_and_an_event(book_account, 20)
    with django_assert_max_num_queries(4 * MOST_QUERIES):
        few = _queries_of_each_read(user_api)
    _orders_with_a_fill_and_an_event(book_account, 200)

    with django_assert_max_num_queries(4 * MOST_QUERIES):
        many = _queries_of_each_read(user_api)

    assert user_api.get(f"{BOOK}/orders?limit=1000").json()["count"] == 200
    assert user_api.get(f"{BOOK}/trades?limit=1000").json()["count"] == 200
    assert len(user_api.get(f"{BOOK}/orders/500/history").json()["history"]) == 200
    assert few == many and max(many.values()) <= MOST_QUERIES


def test_reads_never_call_the_broker(user_api, orders_in_every_state, monkeypatch):
    monkeypatch.setitem(registry.ADAPTERS, Broker.ZERODHA, NoBrokerAdapter)
    Trade.objects.create(order=orders_in_every_state[0], trade_id="T1", quantity=10, price=D("1499.125"))

    answers = [user_api.get(f"{BOOK}/{path}") for path in ("orders", "orders/101", "orders/101/history", "trades")]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 200]
    assert answers[0].json()["count"] == 5 and answers[3].json()["count"] == 1


def test_money_and_times_render_as_before_for_values_the_database_rounds_otherwise(user_api, book_account):
    """Half-way average prices round as Python rounds the float (not as SQL's ROUND), times keep the zone's offset."""
    for number, average in enumerate((D("100.1250"), D("100.1350"), D("2.6750"), D("0.0050"))):
        stored_order(book_account, f"60{number}", average_price=average, filled_quantity=1,
                     order_timestamp=datetime(2026, 11, 16, 9, 15, number, tzinfo=IST))

    rows = user_api.get(f"{BOOK}/orders").json()["orders"]

    by_id = {row["order_id"]: row for row in rows}
    assert [by_id[f"60{number}"]["average_price"] for number in range(4)] == [
        round(float(average), 2) for average in (D("100.1250"), D("100.1350"), D("2.6750"), D("0.0050"))]
    assert by_id["600"]["order_timestamp"] == "2026-11-16T09:15:00+05:30"
    assert Decimal(str(by_id["600"]["price"])) == D("1500")
