"""Orders through a database or Redis outage: a retry with the same Idempotency-Key neither doubles nor loses one."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from orders import services
from orders.models import IdempotencyRecord, Order

pytestmark = pytest.mark.django_db

BODY = {"tradingsymbol": "ITC", "exchange": "NSE", "transaction_type": "BUY", "quantity": 1, "order_type": "MARKET",
        "product": "MIS", "tag": "drill1"}


@pytest.fixture
def account(user_api, paper_market) -> str:
    return user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]


def place(api, account, key):
    return api.post(f"/accounts/{account}/orders", BODY, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_an_outage_during_placement_is_a_503_and_the_retry_places_the_order_once(user_api, account, monkeypatch):
    real_place = services.order_place

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "order_place", database_gone)
    failed = place(user_api, account, "k-outage")
    monkeypatch.setattr(services, "order_place", real_place)

    retried = place(user_api, account, "k-outage")

    assert failed.status_code == 503
    assert failed.json() == {"detail": "The database is unavailable; try again shortly.", "status_code": 503}
    assert retried.status_code == 200, retried.json()
    assert Order.objects.filter(idempotency_key="k-outage").count() == 1


def test_a_key_whose_answer_was_lost_with_the_database_answers_from_the_order_it_saved(user_api, account):
    first = place(user_api, account, "k-lost").json()
    # As when the database went away after the order was saved, before the answer was kept.
    IdempotencyRecord.objects.filter(key="k-lost").update(response_status=None, response_body=None,
                                                          created_at=timezone.now() - timedelta(hours=1))

    retried = place(user_api, account, "k-lost")

    assert retried.status_code == 200
    assert retried.json()["order_id"] == first["order_id"]
    assert Order.objects.filter(idempotency_key="k-lost").count() == 1
    assert place(user_api, account, "k-lost").json() == retried.json()  # now kept


def test_a_key_left_unanswered_that_saved_no_order_runs_afresh_once_stale(user, user_api, account):
    path = f"/accounts/{account}/orders"
    digest = hashlib.sha256(json.dumps([path, BODY], sort_keys=True, default=str).encode()).hexdigest()
    record = IdempotencyRecord.objects.create(user=user, key="k-nothing", request_hash=digest)

    in_flight = place(user_api, account, "k-nothing")
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(hours=1))
    stale = place(user_api, account, "k-nothing")

    assert in_flight.status_code == 409  # a request may still be running it
    assert stale.status_code == 200, stale.json()
    assert Order.objects.filter(idempotency_key="k-nothing").count() == 1


def test_an_outage_after_the_order_reached_the_exchange_is_a_503_and_the_retry_answers_with_that_order(
        user_api, account, monkeypatch):
    real_place = services.order_place

    def placed_then_redis_gone(**kwargs):
        real_place(**kwargs)  # saved and filled at the paper exchange
        import redis
        raise redis.exceptions.ConnectionError("Connection reset by peer")

    monkeypatch.setattr(services, "order_place", placed_then_redis_gone)
    failed = place(user_api, account, "k-after")
    monkeypatch.setattr(services, "order_place", real_place)

    retried = place(user_api, account, "k-after")

    order = Order.objects.get(idempotency_key="k-after")
    assert failed.status_code == 503
    assert retried.status_code == 200 and retried.json()["order_id"] == order.order_id
    assert Order.objects.filter(idempotency_key="k-after").count() == 1


def test_a_reused_key_a_day_later_is_not_answered_with_the_old_days_order(user, user_api, account, monkeypatch):
    old = place(user_api, account, "k-reused").json()
    IdempotencyRecord.objects.filter(key="k-reused").update(created_at=timezone.now() - timedelta(hours=25))
    Order.objects.filter(idempotency_key="k-reused").update(created_at=timezone.now() - timedelta(hours=25))

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services, "order_place", database_gone)
    failed = place(user_api, account, "k-reused")

    assert failed.status_code == 503 and "order_id" not in failed.json()
    assert not IdempotencyRecord.objects.filter(key="k-reused").exists()  # nothing kept: a retry runs afresh
    assert Order.objects.get(idempotency_key="k-reused").order_id == old["order_id"]
