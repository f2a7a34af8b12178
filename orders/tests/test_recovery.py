"""Every recovery branch of the order lifecycle, one test each, named for the branch.

Orders on a broker whose books the test writes (BookAdapter), and on the paper
exchange through the API; what is queued for the worker is read from what is
sent to Celery.
"""

import logging
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import OperationalError, transaction
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from brokers.adapters import registry
from brokers.adapters.base import BrokerSessionExpired, BrokerTimeout
from brokers.adapters.paper.adapter import PaperAdapter
from brokers.domain import Broker, OrderChange, OrderProgress, OrderRequest, OrderStatus
from brokers.paper import engine
from brokers.paper.models import PaperInstrument, PaperOrder
from brokers.pushes import OrderPush
from budhitrade.celery import app
from orders import jobs, lifecycle, pushes, reconcile, services, tasks
from orders.models import Order
from orders.tests.book import D, BookAdapter, account, book_account, book_row, ltp, order, stored_order  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)
RECONCILE = "orders.tasks.order_reconcile_task"
LIMIT_BUY = OrderRequest(tradingsymbol="INFY", exchange="NSE", transaction_type="BUY", quantity=10,
                         order_type="LIMIT", product="CNC", price=D("1500"))


@pytest.fixture
def sent(monkeypatch):
    """Every task sent to Celery, as (name, args, countdown); nothing reaches a worker."""
    calls = []
    monkeypatch.setattr(app, "send_task", lambda name, args=None, kwargs=None, countdown=None, **options: calls.append(
        (name, args, countdown)))
    return calls


# --- an order whose answer was lost ---------------------------------------------------------------------------


def test_an_unknown_order_is_found_by_its_tag_in_the_brokers_book(book_account):
    order = stored_order(book_account, "", broker_tag="btlost1", status=OrderStatus.UNKNOWN)
    BookAdapter.book = [book_row("B77", OrderStatus.OPEN, tag="btlost1")]

    assert reconcile.order_reconcile(connection=book_account) == 1

    order.refresh_from_db()
    assert (order.status, order.broker_order_id, order.events.last().source) == ("OPEN", "B77", "reconcile")


def test_an_unknown_order_the_book_never_shows_is_rejected_once_its_window_is_over(book_account):
    lost = stored_order(book_account, "", broker_tag="btlost2", status=OrderStatus.UNKNOWN)
    recent = stored_order(book_account, "", broker_tag="btlost3", status=OrderStatus.UNKNOWN)
    Order.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - reconcile.UNKNOWN_GIVE_UP - timedelta(seconds=1))

    assert reconcile.order_reconcile(connection=book_account) == 1

    lost.refresh_from_db()
    recent.refresh_from_db()
    assert (lost.status, lost.status_message) == ("REJECTED", "The broker has no such order: it was never placed.")
    assert recent.status == "UNKNOWN"  # still within UNKNOWN_GIVE_UP: the book may show it yet


class RejectsThenLosesTheAnswer(BookAdapter):
    """The broker's own push says REJECTED during the call, then the call's answer is lost."""

    def order_place(self, order):
        connection = Order.objects.get(broker_tag=order.tag).connection
        pushes.push_receive(connection=connection, source="postback", push=OrderPush(update=book_row(
            "B9", OrderStatus.REJECTED, tag=order.tag, pending_quantity=0, status_message="RMS: margin exceeds")))
        raise BrokerTimeout()


def test_a_lost_answer_after_the_brokers_own_rejection_answers_the_rejection(book_account, monkeypatch):
    monkeypatch.setitem(registry.ADAPTERS, Broker.ZERODHA, RejectsThenLosesTheAnswer)

    with pytest.raises(services.OrderRejected) as raised:
        services.order_place(connection=book_account, request=LIMIT_BUY)

    order = Order.objects.get()
    assert raised.value.detail == "RMS: margin exceeds" and raised.value.order == order
    assert (order.status, order.status_message) == ("REJECTED", "RMS: margin exceeds")
    assert "UNKNOWN" not in set(order.events.values_list("status", flat=True))


# --- late updates -----------------------------------------------------------------------------------------------


def test_a_late_older_update_never_reopens_a_finished_order(book_account):
    order = stored_order(book_account, "110", status=OrderStatus.COMPLETE, filled_quantity=10, pending_quantity=0,
                         average_price=D("1500"))

    snapshot = lifecycle.order_apply(order=order, source="reconcile", fills=[], state=book_row(
        "110", OrderStatus.OPEN, filled_quantity=4, pending_quantity=6))
    progress = lifecycle.order_progress_apply(connection=book_account, progress=OrderProgress(
        broker_order_id="110", status=OrderStatus.OPEN, filled_quantity=4, pending_quantity=6,
        average_price=D("1499")))

    order.refresh_from_db()
    assert (snapshot, progress) == (False, False)
    assert (order.status, order.filled_quantity, order.pending_quantity) == ("COMPLETE", 10, 0)


def test_a_late_update_never_takes_back_a_fill(book_account):
    order = stored_order(book_account, "109", filled_quantity=6, pending_quantity=4)

    progress = lifecycle.order_progress_apply(connection=book_account, progress=OrderProgress(
        broker_order_id="109", status=OrderStatus.OPEN, filled_quantity=2, pending_quantity=8,
        average_price=D("1499")))
    snapshot = lifecycle.order_apply(order=order, source="reconcile", fills=[], state=book_row(
        "109", OrderStatus.OPEN, filled_quantity=2, pending_quantity=8))

    order.refresh_from_db()
    assert (progress, snapshot) == (False, False)
    assert (order.status, order.filled_quantity, order.pending_quantity) == ("OPEN", 6, 4)


# --- the session ends mid-call ----------------------------------------------------------------------------------


class SessionEnds(BookAdapter):
    """The broker refuses the session on every order call."""

    def order_place(self, order):
        raise BrokerSessionExpired("Session expired at the broker")

    def order_modify(self, broker_order_id, change, *, variety="regular"):
        raise BrokerSessionExpired("Session expired at the broker")

    def order_cancel(self, broker_order_id, *, variety="regular"):
        raise BrokerSessionExpired("Session expired at the broker")


@pytest.fixture
def session_ends(book_account, monkeypatch):
    monkeypatch.setitem(registry.ADAPTERS, Broker.ZERODHA, SessionEnds)
    return book_account


def _expired(connection) -> tuple[str, str]:
    connection.refresh_from_db()
    return connection.status, connection.last_error


def test_a_session_expiring_during_place_keeps_the_order_not_sent_and_expires_the_connection(session_ends):
    with pytest.raises(BrokerSessionExpired) as raised:
        services.order_place(connection=session_ends, request=LIMIT_BUY)

    order = Order.objects.get()
    assert raised.value.order == order
    assert (order.status, order.status_message) == ("REJECTED", "Not sent: Session expired at the broker")
    assert _expired(session_ends) == ("expired", "Session expired at the broker")


def test_a_session_expiring_during_modify_keeps_the_order_open_and_expires_the_connection(session_ends):
    order = stored_order(session_ends, "120", status_message="Open at the exchange")

    with pytest.raises(BrokerSessionExpired):
        services.order_modify(order=order, change=OrderChange(price=D("1490")))

    order.refresh_from_db()
    assert (order.status, order.price, order.status_message) == ("OPEN", D("1500"), "Open at the exchange")
    assert _expired(session_ends) == ("expired", "Session expired at the broker")


def test_a_session_expiring_during_cancel_keeps_the_order_open_and_expires_the_connection(session_ends):
    order = stored_order(session_ends, "121", status_message="Open at the exchange")

    with pytest.raises(BrokerSessionExpired):
        services.order_cancel(order=order)

    order.refresh_from_db()
    assert (order.status, order.pending_quantity, order.status_message) == ("OPEN", 10, "Open at the exchange")
    assert _expired(session_ends) == ("expired", "Session expired at the broker")


# --- a spent budget ---------------------------------------------------------------------------------------------


def test_a_spent_order_budget_is_a_429_and_the_order_is_kept_not_sent(book_account, settings):
    settings.BROKER_ORDER_RATE_LIMITS = {"zerodha": [(1, 86400)]}
    services.order_place(connection=book_account, request=LIMIT_BUY)

    with pytest.raises(services.RateLimited) as raised:
        services.order_place(connection=book_account, request=LIMIT_BUY)

    kept = raised.value.order
    assert raised.value.status_code == 429 and len(BookAdapter.placed) == 1
    kept.refresh_from_db()
    assert kept.status == "REJECTED" and kept.status_message.startswith("Not sent: The broker allows 1 orders")


# --- one reconcile for many asks -------------------------------------------------------------------------------


def _fills_pushed(connection, order: Order, count: int) -> None:
    """`count` pushes that each say more is filled, with the fills sent apart (as Kite's postbacks do)."""
    for filled in range(1, count + 1):
        pushes.push_receive(connection=connection, source="postback", push=OrderPush(update=book_row(
            order.broker_order_id, OrderStatus.OPEN, quantity=100, filled_quantity=filled,
            pending_quantity=100 - filled, average_price=D("1499.5"))))


def test_a_burst_of_pushes_asking_for_fills_queues_one_reconcile(book_account, sent):
    order = stored_order(book_account, "130", quantity=100, pending_quantity=100)

    _fills_pushed(book_account, order, 50)

    assert sent == [(RECONCILE, [str(book_account.pk)], None)]  # at once: none ran in the last interval
    order.refresh_from_db()
    assert order.filled_quantity == 50 and order.events.count() == 50


def test_asks_after_a_reconcile_started_queue_one_more_for_the_intervals_end(book_account, sent, settings):
    settings.ORDER_RECONCILE_INTERVAL_SECONDS = 5
    order = stored_order(book_account, "131", quantity=100, pending_quantity=100)
    _fills_pushed(book_account, order, 1)
    assert jobs.reconcile_begin(book_account.pk)  # the queued reconcile starts

    pushes.push_receive(connection=book_account, source="postback", push=OrderPush(update=book_row(
        "131", OrderStatus.COMPLETE, quantity=100, filled_quantity=100, pending_quantity=0)))
    lifecycle.order_progress_apply(connection=book_account, progress=OrderProgress(
        broker_order_id="not-yet-known", status=OrderStatus.OPEN, filled_quantity=1, pending_quantity=9,
        average_price=D("1499.5")))

    [first, later] = sent
    assert later[:2] == (RECONCILE, [str(book_account.pk)]) and 0 < later[2] <= 5


def test_a_reconcile_that_finds_one_running_waits_its_turn_by_countdown(book_account, sent, settings):
    settings.ORDER_RECONCILE_INTERVAL_SECONDS = 5
    stored_order(book_account, "132")
    running = jobs.reconcile_begin(book_account.pk)
    assert running

    tasks.order_reconcile_task(str(book_account.pk))

    assert sent == [(RECONCILE, [str(book_account.pk)], 5)]
    jobs.reconcile_end(book_account.pk, running)
    BookAdapter.book = [book_row("132", OrderStatus.CANCELLED, pending_quantity=0, cancelled_quantity=10)]
    tasks.order_reconcile_task(str(book_account.pk))  # its turn
    assert Order.objects.get().status == "CANCELLED"


def test_the_due_reconcile_asks_once_for_each_account_with_orders_to_settle(book_account, sent):
    stored_order(book_account, "133")
    stored_order(book_account, "134")

    assert tasks.order_reconcile_due_task() == 1
    assert tasks.order_reconcile_due_task() == 1  # the first ask is still queued: nothing more is sent

    assert sent == [(RECONCILE, [str(book_account.pk)], None)]


def test_a_reconcile_asked_for_while_redis_is_down_is_dropped_and_the_push_still_applies(
        book_account, sent, monkeypatch, caplog):
    import redis

    class RedisDown:
        def __getattr__(self, name):
            def refused(*args, **kwargs):
                raise redis.exceptions.ConnectionError("Connection refused")
            return refused

    order = stored_order(book_account, "135", quantity=100, pending_quantity=100)
    monkeypatch.setattr(jobs, "cache", RedisDown())

    with caplog.at_level(logging.WARNING, logger="budhitrade.orders"):
        _fills_pushed(book_account, order, 1)

    order.refresh_from_db()
    assert order.filled_quantity == 1 and sent == []
    assert "order_reconcile_request_dropped" in [record.getMessage() for record in caplog.records]


def test_no_update_asks_for_a_reconcile_on_a_broker_whose_pushes_carry_every_change(book_account, sent,
                                                                                       monkeypatch):
    monkeypatch.setattr(BookAdapter, "pushes_every_change", True)
    order = stored_order(book_account, "136", quantity=100, pending_quantity=100)

    _fills_pushed(book_account, order, 3)
    lifecycle.order_progress_apply(connection=book_account, progress=OrderProgress(
        broker_order_id="136", status=OrderStatus.OPEN, filled_quantity=5, pending_quantity=95,
        average_price=D("1499.5")))
    lifecycle.order_progress_apply(connection=book_account, progress=OrderProgress(
        broker_order_id="not-yet-known", status=OrderStatus.OPEN, filled_quantity=1, pending_quantity=9,
        average_price=D("1499.5")))

    assert sent == []


def _reconcile_ran(connection) -> None:
    """The queued reconcile starts and ends (so a later ask queues another)."""
    jobs.reconcile_end(connection.pk, jobs.reconcile_begin(connection.pk))


def test_the_backstop_asks_for_open_orders_at_most_once_per_period_and_lost_answers_every_time(
        book_account, sent, monkeypatch, settings):
    settings.ORDER_RECONCILE_INTERVAL_SECONDS = 5
    monkeypatch.setattr(BookAdapter, "pushes_every_change", True)
    stored_order(book_account, "137")

    first = tasks.order_reconcile_due_task()
    _reconcile_ran(book_account)
    within_the_period = tasks.order_reconcile_due_task()
    lost = stored_order(book_account, "", broker_tag="btlost5", status=OrderStatus.UNKNOWN)
    with_a_lost_answer = tasks.order_reconcile_due_task()  # what a call left unsettled is asked for every time
    Order.objects.filter(pk=lost.pk).update(status=OrderStatus.REJECTED)
    _reconcile_ran(book_account)
    cache.delete(jobs._backstop_key(str(book_account.pk)))  # the period is over
    after_the_period = tasks.order_reconcile_due_task()

    assert (first, within_the_period, with_a_lost_answer, after_the_period) == (1, 0, 1, 1)
    assert [(name, args) for name, args, _ in sent] == [(RECONCILE, [str(book_account.pk)])] * 3


def test_a_reconcile_of_unchanged_orders_takes_no_row_locks_and_costs_the_same_for_20_or_200(book_account):
    def unchanged(first: int, count: int) -> None:
        for n in range(first, first + count):
            stored_order(book_account, f"U{n}", exchange_order_id=f"XU{n}")
            BookAdapter.book.append(book_row(f"U{n}", OrderStatus.OPEN))

    def reconcile_queries() -> list[str]:
        with CaptureQueriesContext(db) as captured:
            assert reconcile.order_reconcile(connection=book_account) == 0
        return [query["sql"] for query in captured]

    unchanged(0, 20)
    with_20 = reconcile_queries()
    unchanged(20, 180)
    with_200 = reconcile_queries()

    assert len(with_20) == len(with_200) <= 2
    assert not [sql for sql in with_200 if "FOR UPDATE" in sql]
    BookAdapter.book[7] = book_row("U7", OrderStatus.OPEN, filled_quantity=4, pending_quantity=6,
                                   average_price=D("1499.5"))
    assert reconcile.order_reconcile(connection=book_account) == 1  # a changed one among them is applied
    assert Order.objects.get(broker_order_id="U7").filled_quantity == 4


# --- the reconcile lock -----------------------------------------------------------------------------------------


class FailingCache:
    """The cache, with one of its calls failing as Redis does when it goes away."""

    def __init__(self, failing: str):
        self.failing = failing

    def __getattr__(self, name):
        if name == self.failing:
            def refused(*args, **kwargs):
                raise ConnectionError("Connection refused")
            return refused
        return getattr(cache, name)


@pytest.mark.parametrize("failing", ["touch", "send"])
def test_a_reconcile_that_finds_the_lock_held_never_runs_beside_it_when_queueing_again_fails(
        book_account, sent, monkeypatch, failing):
    order = stored_order(book_account, "140")
    BookAdapter.book = [book_row("140", OrderStatus.CANCELLED, pending_quantity=0, cancelled_quantity=10)]
    holder = jobs.reconcile_begin(book_account.pk)
    if failing == "send":
        def refused(*args, **kwargs):
            raise ConnectionError("Connection refused")
        monkeypatch.setattr(jobs, "_send", refused)
    else:
        monkeypatch.setattr(jobs, "cache", FailingCache("touch"))

    tasks.order_reconcile_task(str(book_account.pk))

    order.refresh_from_db()
    assert order.status == "OPEN"  # it did not run
    assert cache.get(jobs._lock_key(str(book_account.pk))) == holder  # and left the holder's lock alone


def test_a_run_whose_lock_lapsed_gives_back_only_its_own(book_account):
    key = jobs._lock_key(str(book_account.pk))
    first = jobs.reconcile_begin(book_account.pk)
    cache.delete(key)  # it ran past RECONCILE_LOCK_SECONDS: the lock lapsed
    second = jobs.reconcile_begin(book_account.pk)  # and another run took it

    jobs.reconcile_end(book_account.pk, first)
    held_after_the_first = cache.get(key)
    jobs.reconcile_end(book_account.pk, second)

    assert first and second and first != second
    assert (held_after_the_first, cache.get(key)) == (second, None)


# --- the paper exchange, through the API ------------------------------------------------------------------------


def test_an_unknown_paper_order_is_found_by_its_tag_when_the_request_is_retried(user_api, account, monkeypatch):
    real_place = PaperAdapter.order_place
    resting = order(order_type="LIMIT", price=str(ltp("ITC") - 10))

    def placed_but_no_answer(self, request):
        real_place(self, request)
        raise BrokerTimeout()

    monkeypatch.setattr(PaperAdapter, "order_place", placed_but_no_answer)
    lost = user_api.post(f"/accounts/{account}/orders", resting, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert lost.status_code == 504
    assert Order.objects.get().status == "UNKNOWN"
    monkeypatch.setattr(PaperAdapter, "order_place", real_place)

    retry = user_api.post(f"/accounts/{account}/orders", resting, format="json", HTTP_IDEMPOTENCY_KEY="retry-1")

    assert retry.status_code == 200 and retry.json()["order_id"] == PaperOrder.objects.get().order_id
    assert Order.objects.count() == 1 and PaperOrder.objects.count() == 1
    assert Order.objects.get().status == "OPEN"


def test_a_lost_answer_after_the_brokers_own_fill_keeps_what_the_fill_said(user_api, account, monkeypatch):
    real_place = PaperAdapter.order_place

    def filled_but_no_answer(self, request):
        real_place(self, request)  # the paper exchange announces the fill during the call
        raise BrokerTimeout()

    monkeypatch.setattr(PaperAdapter, "order_place", filled_but_no_answer)

    response = user_api.post(f"/accounts/{account}/orders", order(quantity=10), format="json")

    stored = Order.objects.get()
    assert response.status_code == 200 and response.json()["order_id"] == stored.broker_order_id
    assert (stored.status, stored.filled_quantity) == ("COMPLETE", 10)
    assert "UNKNOWN" not in set(stored.events.values_list("status", flat=True))


def test_a_rolled_back_batch_cancels_the_orders_it_placed(user_api, account):
    resting = {"order_type": "LIMIT", "price": str(ltp("ITC") - 10)}
    body = {"orders": [order(**resting), order(**resting), order(tradingsymbol="MARUTI", quantity=100)],
            "rollback_on_failure": True}

    response = user_api.post(f"/accounts/{account}/batch-orders", body, format="json").json()

    assert (response["total_orders"], response["succeeded"], response["failed"]) == (3, 0, 3)
    assert response["batch_id"] and response["order_ids"] == []
    assert [r["status"] for r in response["results"]] == ["CANCELLED", "CANCELLED", "REJECTED"]
    assert response["results"][0]["error"] == "Rolled back: cancelled"
    assert response["results"][2]["error"] == "Insufficient margin"
    assert set(Order.objects.values_list("status", flat=True)) == {"CANCELLED", "REJECTED"}


def test_a_rolled_back_batch_says_a_filled_order_cannot_be_undone(user_api, account):
    body = {"orders": [order(quantity=1), order(tradingsymbol="MARUTI", quantity=100)], "rollback_on_failure": True}

    response = user_api.post(f"/accounts/{account}/batch-orders", body, format="json").json()

    assert [r["status"] for r in response["results"]] == ["COMPLETE", "REJECTED"]
    assert response["results"][0]["error"] == "Could not roll back: the order is already COMPLETE"


def test_a_rolled_back_batch_cancels_an_unanswered_order_once_the_book_shows_it(user_api, account, monkeypatch):
    real_place = PaperAdapter.order_place
    calls = []

    def second_answer_lost(self, request):
        calls.append(request)
        broker_order_id = real_place(self, request)
        if len(calls) == 2:
            raise BrokerTimeout()
        return broker_order_id

    monkeypatch.setattr(PaperAdapter, "order_place", second_answer_lost)
    resting = {"order_type": "LIMIT", "price": str(ltp("ITC") - 10)}
    body = {"orders": [order(**resting), order(**resting), order(**resting)], "rollback_on_failure": True}

    response = user_api.post(f"/accounts/{account}/batch-orders", body, format="json").json()

    assert [r["status"] for r in response["results"]] == ["CANCELLED", "CANCELLED", "NOT SENT"]
    assert "found at the broker and rolled back" in response["results"][1]["error"]
    assert sorted(PaperOrder.objects.values_list("status", flat=True)) == ["CANCELLED", "CANCELLED"]


def test_a_paper_fill_asks_for_no_reconcile_only_the_positions_refresh(user_api, account, sent):
    response = user_api.post(f"/accounts/{account}/orders", order(quantity=10), format="json")

    assert Order.objects.get(broker_order_id=response.json()["order_id"]).status == "COMPLETE"
    assert [name for name, _, _ in sent] == ["orders.tasks.position_refresh_task"]


def _resting_orders(account: str, count: int) -> None:
    """`count` resting paper orders, in the exchange's book and in BudhiTrade's, as placed orders would be."""
    template = PaperOrder.objects.filter(status="OPEN").first()
    stored = Order.objects.get(broker_order_id=template.order_id)
    start = PaperOrder.objects.count()
    PaperOrder.objects.bulk_create(
        PaperOrder(**{**{f.attname: getattr(template, f.attname) for f in PaperOrder._meta.concrete_fields
                         if not f.primary_key}, "order_id": f"R{n:011d}", "tag": f"btrest{n:014d}"})
        for n in range(start, start + count))
    Order.objects.bulk_create(
        Order(**{**{f.attname: getattr(stored, f.attname) for f in Order._meta.concrete_fields if not f.primary_key},
                 "broker_order_id": f"R{n:011d}", "broker_tag": f"btrest{n:014d}"})
        for n in range(start, start + count))


def test_cancelling_on_paper_costs_the_same_queries_with_2000_resting_orders_as_with_20(user_api, paper_market,
                                                                                        monkeypatch):
    # cash enough for the margin that 2,000 resting buys block
    account = user_api.post("/broker/connect/initiate", {"broker": "paper", "opening_cash": 100_000_000},
                            format="json").json()["account_id"]
    below = str(ltp("ITC") - 10)

    def cancel_one() -> int:
        placed = user_api.post(f"/accounts/{account}/orders", order(order_type="LIMIT", price=below),
                               format="json").json()["order_id"]
        with CaptureQueriesContext(db) as queries:
            assert user_api.delete(f"/accounts/{account}/orders/{placed}").json()["status"] == "CANCELLED"
        return len(queries)

    cancel_one()  # the account's first read (and its first sync) is not what is measured
    books_read = []
    monkeypatch.setattr(PaperAdapter, "orders", lambda self: books_read.append("orders") or [])
    monkeypatch.setattr(PaperAdapter, "trades", lambda self: books_read.append("trades") or [])
    user_api.post(f"/accounts/{account}/orders", order(order_type="LIMIT", price=below), format="json")
    _resting_orders(account, 19)
    with_20 = cancel_one()
    _resting_orders(account, 1980)
    with_2000 = cancel_one()

    assert PaperOrder.objects.filter(status="OPEN").count() == 2000
    assert with_20 == with_2000 <= 25
    assert books_read == []  # the exchange's push brought the order up to date: its books (every row) are not read


# --- a paper push lost after the exchange's commit ----------------------------------------------------------


class FailsOnce:
    """The receiving end of the exchange's pushes, failing on its first push (the database restarting)."""

    def __init__(self):
        self.failed = []
        self.receive = pushes.push_receive

    def __call__(self, *, connection, push, source):
        if not self.failed:
            self.failed.append(push.update.broker_order_id)
            raise OperationalError("the database system is shutting down")
        return self.receive(connection=connection, push=push, source=source)


def _resting_then_filled(user_api, account: str, monkeypatch, count: int) -> FailsOnce:
    """`count` resting ITC buys, then one market step that fills them all, its first push failing."""
    below = ltp("ITC") - 10
    for _ in range(count):
        user_api.post(f"/accounts/{account}/orders", order(order_type="LIMIT", price=str(below)), format="json")
    assert list(Order.objects.values_list("status", flat=True)) == ["OPEN"] * count
    receiver = FailsOnce()
    monkeypatch.setattr(pushes, "push_receive", receiver)
    PaperInstrument.objects.filter(tradingsymbol="ITC").update(last_price=below - 5)
    with transaction.atomic():
        assert engine.engine_step(now=engine.market_clock()) == count
    return receiver


def test_one_failing_paper_push_does_not_drop_the_next_orders_push(user_api, account, monkeypatch, caplog):
    with caplog.at_level(logging.ERROR, logger="budhitrade.paper"):
        receiver = _resting_then_filled(user_api, account, monkeypatch, 2)

    statuses = dict(Order.objects.values_list("broker_order_id", "status"))
    [lost] = receiver.failed
    assert statuses.pop(lost) == "OPEN" and list(statuses.values()) == ["COMPLETE"]
    [logged] = [record for record in caplog.records if record.getMessage() == "paper_push_failed"]
    assert (logged.account_id, logged.order, logged.reason) == (account, lost, "OperationalError")


def test_a_paper_push_lost_after_the_exchanges_commit_is_repaired_by_the_backstop_reconcile(
        user_api, account, monkeypatch, sent):
    receiver = _resting_then_filled(user_api, account, monkeypatch, 1)
    lost = Order.objects.get()
    assert (lost.status, receiver.failed) == ("OPEN", [lost.broker_order_id])
    sent.clear()

    assert tasks.order_reconcile_due_task() == 1
    [(name, args, _)] = sent
    tasks.order_reconcile_task(*args)

    lost.refresh_from_db()
    assert (lost.status, lost.filled_quantity, lost.traded_quantity) == ("COMPLETE", 10, 10)
    assert lost.trades.count() == 1 and lost.events.last().source == "reconcile"
