"""Connection services with a hand-written fake adapter, and the beat task."""

from datetime import timedelta

import pytest
from django.utils import timezone

from brokers import services
from brokers.adapters import registry
from brokers.adapters.base import BrokerAdapter, BrokerSessionExpired, BrokerUnavailable
from brokers.domain import Broker, ConnectionStatus, LoginStep
from brokers.models import BrokerConnection
from brokers.tasks import connection_expire_due_task

pytestmark = pytest.mark.django_db


class FakeAdapter(BrokerAdapter):
    """Answers as scripted; records logouts."""

    broker = Broker.ZERODHA
    logout_error: Exception | None = None
    logged_out: list = []

    def login_start(self, *, otp="", state=""):
        return LoginStep(status=ConnectionStatus.PENDING_LOGIN, message="go", login_url="https://example/login")

    def login_complete(self, *, secret):
        if secret == "expired":
            raise BrokerSessionExpired()
        return LoginStep(status=ConnectionStatus.CONNECTED, message="ok", account_id="ZX1", session={"access_token": "t"},
                         expires_at=timezone.now() + timedelta(hours=1))

    def logout(self):
        FakeAdapter.logged_out.append(self.account_id)
        if FakeAdapter.logout_error:
            raise FakeAdapter.logout_error

    def holdings(self):
        return []

    def positions(self):
        return []

    def funds(self):
        return []


@pytest.fixture(autouse=True)
def fake_zerodha(monkeypatch):
    monkeypatch.setitem(registry.ADAPTERS, Broker.ZERODHA, FakeAdapter)
    FakeAdapter.logout_error = None
    FakeAdapter.logged_out = []


def connected(user, **fields):
    defaults = dict(user=user, broker="zerodha", account_id="ZX1", status="connected", session={"access_token": "t"},
                    session_expires_at=timezone.now() + timedelta(hours=1))
    return BrokerConnection.objects.create(**{**defaults, **fields})


def test_initiate_twice_reuses_the_unfinished_connection(user):
    first, _ = services.connection_initiate(user=user, broker="zerodha", credentials={"api_key": "a", "api_secret": "b"}, options={})
    second, _ = services.connection_initiate(user=user, broker="zerodha", credentials={"api_key": "c", "api_secret": "d"}, options={})

    assert first.pk == second.pk
    assert BrokerConnection.objects.get().credentials["api_key"] == "c"


def test_disconnect_wipes_session_even_when_broker_logout_fails(user):
    connection = connected(user)
    FakeAdapter.logout_error = BrokerUnavailable()

    services.connection_disconnect(connection=connection)

    connection.refresh_from_db()
    assert FakeAdapter.logged_out == ["ZX1"]
    assert connection.status == "disconnected" and connection.session == {}
    assert "Logout at the broker failed" in connection.last_error


def test_verify_that_finds_session_expired_marks_connection_expired(user):
    connection, _ = services.connection_initiate(user=user, broker="zerodha", credentials={"api_key": "a", "api_secret": "b"}, options={})

    with pytest.raises(BrokerSessionExpired):
        services.connection_verify(connection=connection, secret="expired")

    connection.refresh_from_db()
    assert connection.status == "expired" and connection.last_error


def test_expire_task_expires_only_sessions_past_their_end(user, other_user):
    due = connected(user, session_expires_at=timezone.now() - timedelta(seconds=1))
    fresh = connected(other_user)
    paper = connected(user, broker="paper", account_id="PA1", session_expires_at=None)

    assert connection_expire_due_task.apply().get() == 1

    due.refresh_from_db(), fresh.refresh_from_db(), paper.refresh_from_db()
    assert due.status == "expired" and due.session == {}
    assert due.last_error == "The broker session reached the end of its validity."
    assert fresh.status == "connected" and paper.status == "connected"


def test_expire_task_is_in_the_beat_schedule():
    from budhitrade.celery import app

    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "brokers.tasks.connection_expire_due_task" in tasks
