"""Applying what brokers report to stored orders: every quantity and time the broker gives, and unknown statuses."""

import logging
from datetime import datetime

import pytest

from brokers.calendar import IST
from brokers.domain import OrderProgress, OrderStatus
from orders import lifecycle, reconcile
from orders.models import Order, Trade
from orders.tests.book import D, BookAdapter, book_account, book_row, fill, stored_order  # noqa: F401

pytestmark = pytest.mark.django_db
UPDATED_AT = datetime(2026, 11, 16, 9, 41, 7, tzinfo=IST)


def test_apply_stores_cancelled_disclosed_ttl_and_exchange_update_time(book_account):
    order = stored_order(book_account, "101")
    state = book_row("101", OrderStatus.CANCELLED, filled_quantity=4, pending_quantity=0, cancelled_quantity=6,
                     average_price=D("1499.5"), disclosed_quantity=2, validity="TTL", validity_ttl=15,
                     exchange_update_timestamp=UPDATED_AT)
    traded_at = datetime(2026, 11, 16, 9, 30, 1, tzinfo=IST)

    changed = lifecycle.order_apply(order=order, state=state, source="reconcile",
                                   fills=[fill("101", "T1", 4, fill_timestamp=traded_at, exchange_timestamp=traded_at)])

    order.refresh_from_db()
    assert changed is True
    assert (order.status, order.filled_quantity, order.pending_quantity, order.cancelled_quantity) == (
        "CANCELLED", 4, 0, 6)
    assert (order.disclosed_quantity, order.validity_ttl, order.exchange_update_timestamp) == (2, 15, UPDATED_AT)
    assert Trade.objects.get().exchange_timestamp == traded_at


def test_a_cancelled_order_keeps_its_cancelled_amount_through_reconcile(book_account):
    order = stored_order(book_account, "102", disclosed_quantity=3)
    BookAdapter.book = [book_row("102", OrderStatus.CANCELLED, filled_quantity=3, pending_quantity=0,
                                 cancelled_quantity=7, average_price=D("1499.5"))]
    BookAdapter.fills = [fill("102", "T2", 3)]

    assert reconcile.order_reconcile(connection=book_account) == 1

    order.refresh_from_db()
    assert (order.status, order.filled_quantity, order.pending_quantity, order.cancelled_quantity) == (
        "CANCELLED", 3, 0, 7)
    assert order.disclosed_quantity == 3  # the broker's row gave none: the order keeps what was asked


def test_an_order_that_expired_with_its_day_counts_its_unfilled_quantity_as_cancelled(book_account):
    order = stored_order(book_account, "103", filled_quantity=4, pending_quantity=6,
                         order_timestamp=datetime(2026, 1, 5, 9, 20, tzinfo=IST))

    reconcile.order_reconcile(connection=book_account)  # the book no longer lists it

    order.refresh_from_db()
    assert (order.status, order.pending_quantity, order.cancelled_quantity) == ("CANCELLED", 0, 6)


def test_an_unknown_status_keeps_the_orders_status_records_the_rest_and_does_not_stop_the_reconcile(
        book_account, caplog):
    odd = stored_order(book_account, "104")
    other = stored_order(book_account, "105")
    BookAdapter.book = [
        book_row("104", "MODIFY VALIDATION PENDING", filled_quantity=2, pending_quantity=8, average_price=D("1499"),
                 exchange_update_timestamp=UPDATED_AT, status_message="Being modified"),
        book_row("105", OrderStatus.COMPLETE, filled_quantity=10, pending_quantity=0, average_price=D("1500")),
    ]

    with caplog.at_level(logging.INFO, logger="budhitrade.orders"):
        changed = reconcile.order_reconcile(connection=book_account)

    odd.refresh_from_db()
    other.refresh_from_db()
    assert changed == 2
    assert (odd.status, odd.filled_quantity, odd.pending_quantity) == ("OPEN", 2, 8)
    assert (odd.status_message, odd.exchange_update_timestamp) == ("Being modified", UPDATED_AT)
    assert odd.events.last().status == "OPEN"
    assert other.status == "COMPLETE"
    assert [r for r in caplog.records if r.name == "budhitrade.orders"] == []


def test_an_unknown_status_never_changes_a_finished_order(book_account):
    order = stored_order(book_account, "106", status=OrderStatus.COMPLETE, filled_quantity=10, pending_quantity=0,
                         average_price=D("1500"))
    state = book_row("106", "SETTLEMENT HOLD", filled_quantity=10, pending_quantity=5)

    assert lifecycle.order_apply(order=order, state=state, fills=[], source="reconcile") is False

    order.refresh_from_db()
    assert (order.status, order.pending_quantity) == ("COMPLETE", 0)


def test_a_feed_update_with_an_unknown_status_records_its_quantities(book_account):
    order = stored_order(book_account, "107")

    changed = lifecycle.order_progress_apply(connection=book_account, progress=OrderProgress(
        broker_order_id="107", status="PUT ORDER REQ RECEIVED", filled_quantity=5, pending_quantity=5,
        average_price=D("1499.25")))

    order.refresh_from_db()
    assert changed is True
    assert (order.status, order.filled_quantity, order.pending_quantity) == ("OPEN", 5, 5)


def test_a_feed_cancellation_keeps_the_cancelled_amount(book_account):
    order = stored_order(book_account, "108", filled_quantity=5, pending_quantity=5)

    lifecycle.order_progress_apply(connection=book_account, progress=OrderProgress(
        broker_order_id="108", status=OrderStatus.CANCELLED, filled_quantity=5, pending_quantity=0,
        average_price=D("1499.25"), cancelled_quantity=5))

    order.refresh_from_db()
    assert (order.status, order.pending_quantity, order.cancelled_quantity) == ("CANCELLED", 0, 5)
    assert Order.objects.count() == 1
