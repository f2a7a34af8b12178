"""Beat jobs under Celery's test worker: market-hours sync, the daily snapshot, broker API budgets."""

import time
from datetime import datetime

import pytest
from django.conf import settings

from brokers.calendar import IST
from brokers.models import BrokerConnection
from brokers.services import connection_call_wait
from brokers.tests.fixtures import wait_for
from budhitrade.celery import app
from portfolio import tasks
from portfolio.models import AccountSync, DailySnapshot

IN_SESSION = datetime(2026, 11, 17, 11, 0, tzinfo=IST)  # a Tuesday
AFTER_CLOSE = datetime(2026, 11, 17, 15, 45, tzinfo=IST)
SATURDAY = datetime(2026, 11, 21, 11, 0, tzinfo=IST)


@pytest.fixture
def paper_accounts(transactional_db, make_user, client_for):
    ids = []
    for _ in range(3):
        body = client_for(make_user()).post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()
        ids.append(body["account_id"])
    return ids


def test_beat_schedule_has_each_periodic_job():
    app.loader.import_default_modules()  # as a worker does at start: every app's tasks module
    schedule = app.conf.beat_schedule
    jobs = {entry["task"]: entry["schedule"] for entry in schedule.values()}

    assert set(jobs) == {"brokers.tasks.connection_expire_due_task", "portfolio.tasks.account_sync_due_task",
                         "portfolio.tasks.account_snapshot_due_task", "orders.tasks.order_reconcile_due_task",
                         "brokers.tasks.instruments_refresh_due_task", "analytics.tasks.snapshot_capture_due_task",
                         "analytics.tasks.snapshot_prune_due_task"}
    assert [task for task in jobs if task not in app.tasks] == []
    sync = jobs["portfolio.tasks.account_sync_due_task"]
    assert sync.hour == set(range(9, 16)) and sync.day_of_week == set(range(1, 6))
    snapshot = jobs["portfolio.tasks.account_snapshot_due_task"]
    assert (snapshot.hour, snapshot.minute) == ({15}, {45})
    assert jobs["brokers.tasks.instruments_refresh_due_task"].minute == {15, 45}
    assert jobs["analytics.tasks.snapshot_capture_due_task"].minute == set(range(60))
    prune = jobs["analytics.tasks.snapshot_prune_due_task"]
    assert (prune.hour, prune.minute) == ({16}, {5})


def test_market_hours_sync_queues_one_task_per_connected_account_and_the_worker_syncs_them(
        celery_worker, paper_accounts, make_user):
    BrokerConnection.objects.create(user=make_user(), broker="zerodha", account_id="ZX1", status="expired")

    queued = tasks.account_sync_due_task.delay(IN_SESSION.isoformat()).get(timeout=20)

    assert queued == 3
    synced = AccountSync.objects.filter(connection__account_id__in=paper_accounts, synced_at__isnull=False)
    assert wait_for(lambda: synced.count() == 3)
    assert not AccountSync.objects.filter(connection__account_id="ZX1").exists()


def test_no_sync_is_queued_outside_market_hours(celery_worker, paper_accounts):
    assert tasks.account_sync_due_task.delay(SATURDAY.isoformat()).get(timeout=20) == 0
    assert tasks.account_sync_due_task.delay(AFTER_CLOSE.isoformat()).get(timeout=20) == 0


def test_daily_snapshot_after_the_close_records_each_account(celery_worker, paper_accounts):
    assert tasks.account_snapshot_due_task.delay(IN_SESSION.isoformat()).get(timeout=20) == 0

    queued = tasks.account_snapshot_due_task.delay(AFTER_CLOSE.isoformat()).get(timeout=20)

    assert queued == 3
    snapshots = DailySnapshot.objects.filter(date=AFTER_CLOSE.date())
    assert wait_for(lambda: snapshots.count() == 3)
    assert {s.unused_funds for s in snapshots} == {1000000}


def test_broker_api_budget_paces_calls_across_a_window(settings, make_user):
    settings.BROKER_API_RATE_LIMITS = {"zerodha": (2, 1)}
    connection = BrokerConnection.objects.create(user=make_user(), broker="zerodha", account_id="ZX2",
                                                 status="connected")
    stamps = []
    for _ in range(5):
        connection_call_wait(connection=connection)
        stamps.append(time.time())

    per_window: dict[int, int] = {}
    for stamp in stamps:
        per_window[int(stamp)] = per_window.get(int(stamp), 0) + 1
    assert max(per_window.values()) <= 2 and len(per_window) >= 3


def test_paper_accounts_have_no_broker_api_budget(make_user):
    connection = BrokerConnection.objects.create(user=make_user(), broker="paper", account_id="PA1", status="connected")
    assert all(connection_call_wait(connection=connection) == 0 for _ in range(50))
