"""Accounts, holdings, positions and funds through the API (seed 004 shapes)."""

from datetime import timedelta

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from brokers.adapters.base import BrokerSessionExpired, BrokerUnavailable
from brokers.models import BrokerConnection
from portfolio.models import AccountSync
from portfolio.services import account_sync
from portfolio.tests.fixtures import ScriptedAdapter, holding

pytestmark = pytest.mark.django_db


def test_positions_in_seed_004_shape(user_api, kite_account):
    body = user_api.get("/accounts/DW1234/positions").json()

    assert body["status"] == "success" and body["account_id"] == "DW1234" and body["count"] == 1
    assert body["total_pnl"] == 3712.5 and body["day_pnl"] == 500.0
    row = body["positions"][0]
    assert row["tradingsymbol"] == "NIFTY25NOVFUT" and row["quantity"] == 75
    assert row["average_price"] == 24500.5 and row["value"] == 1841287.5 and row["overnight_quantity"] == 75


def test_holdings_and_funds_in_seed_004_shape(user_api, kite_account):
    holdings = user_api.get("/accounts/DW1234/holdings").json()
    funds = user_api.get("/accounts/DW1234/funds", {"segment": "equity"}).json()

    assert holdings["count"] == 2 and holdings["total_pnl"] == 210.0
    assert holdings["total_value"] == 1657.5  # 10 x 110.5 + 5 x 110.5
    assert funds["funds"]["equity"]["net"] == 150000.5
    assert funds["funds"]["equity"]["available"]["cash"] == 150000.5


def test_accounts_list_and_detail_with_computed_totals(user_api, kite_account, user):
    user_api.post("/accounts/DW1234/sync", {}, format="json")

    listing = user_api.get("/accounts").json()
    detail = user_api.get("/accounts/dw1234").json()

    assert listing["count"] == 1
    synced_at = listing["accounts"][0].pop("synced_at")
    assert synced_at == AccountSync.objects.get().synced_at.astimezone(timezone.get_current_timezone()).isoformat()
    assert listing["accounts"][0] == {"account_id": "DW1234", "user_id": user.pk, "broker": "zerodha", "status": "active",
                                      "total_pnl": 3712.5, "day_pnl": 500.0, "position_count": 1, "available_margin": 150000.5,
                                      "prices_missing": 0}
    assert detail["account"]["account_id"] == "DW1234" and detail["account"]["total_pnl"] == 3712.5


def test_sync_respects_freshness_unless_forced(user_api, kite_account):
    first = user_api.post("/accounts/DW1234/sync", {}, format="json").json()
    user_api.post("/accounts/DW1234/sync", {"force": False}, format="json")
    assert ScriptedAdapter.rounds == 1
    forced = user_api.post("/accounts/DW1234/sync", {"force": True}, format="json").json()

    assert ScriptedAdapter.rounds == 2
    assert first["holdings_count"] == 2 and first["positions_count"] == 1 and forced["synced_at"] >= first["synced_at"]


def test_sync_failing_half_way_keeps_the_previous_snapshot(user_api, kite_account):
    user_api.post("/accounts/DW1234/sync", {}, format="json")
    ScriptedAdapter.holdings_rows = [holding("WIPRO")]
    ScriptedAdapter.fail_positions = BrokerUnavailable()

    response = user_api.post("/accounts/DW1234/sync", {"force": True}, format="json")

    assert response.status_code == 503 and response.json()["status_code"] == 503
    symbols = [h["tradingsymbol"] for h in user_api.get("/accounts/DW1234/holdings").json()["holdings"]]
    assert symbols == ["INFY", "TCS"]
    assert AccountSync.objects.get().last_error


def test_sync_that_finds_the_session_expired_marks_the_account(user_api, kite_account):
    ScriptedAdapter.fail_positions = BrokerSessionExpired()

    response = user_api.post("/accounts/DW1234/sync", {}, format="json")

    assert response.status_code == 409
    kite_account.refresh_from_db()
    assert kite_account.status == "expired"


@pytest.mark.django_db(transaction=True)
def test_concurrent_syncs_of_one_account_do_one_broker_round(kite_account, monkeypatch):
    import threading

    from django.core.cache import cache
    from portfolio import services
    from portfolio.services import _lock_key

    waiting = threading.Event()
    original_wait = services._wait_for_other_sync

    def wait_and_tell(connection):
        waiting.set()
        original_wait(connection)

    monkeypatch.setattr(services, "_wait_for_other_sync", wait_and_tell)

    # Another process holds the lock while it syncs; this one waits, then reuses its result.
    AccountSync.objects.create(connection=kite_account)
    cache.add(_lock_key(kite_account), 1, timeout=60)
    result = {}
    waiter = threading.Thread(target=lambda: result.setdefault("sync", account_sync(connection=kite_account, force=True)))
    waiter.start()
    assert waiting.wait(timeout=10)
    AccountSync.objects.filter(connection=kite_account).update(synced_at=timezone.now(), holdings_count=7)
    cache.delete(_lock_key(kite_account))
    waiter.join(timeout=10)

    assert ScriptedAdapter.rounds == 0
    assert result["sync"].holdings_count == 7


@pytest.mark.parametrize("path", ["", "/positions", "/holdings", "/funds"])
def test_another_users_account_is_404(other_api, kite_account, path):
    response = other_api.get(f"/accounts/DW1234{path}")
    assert response.status_code == 404 and response.json()["status_code"] == 404
    assert other_api.post("/accounts/DW1234/sync", {}, format="json").status_code == 404


def test_staff_may_list_another_users_accounts(client_for, make_user, kite_account, user):
    staff = make_user(is_staff=True)
    assert client_for(staff).get("/accounts", {"user_id": user.pk}).json()["count"] == 1
    assert client_for(make_user()).get("/accounts", {"user_id": user.pk}).json()["count"] == 0


@pytest.mark.parametrize("query", [{"segment": "fx"}, {"fresh": "maybe"}])
def test_bad_query_values_are_400(user_api, kite_account, query):
    path = "/accounts/DW1234/funds" if "segment" in query else "/accounts/DW1234/positions"
    assert user_api.get(path, query).status_code == 400


def test_query_count_stays_constant_as_holdings_grow(user_api, kite_account):
    counts = []
    for size in (5, 500):
        ScriptedAdapter.holdings_rows = [holding(f"S{i:04d}") for i in range(size)]
        user_api.post("/accounts/DW1234/sync", {"force": True}, format="json")
        with CaptureQueriesContext(db) as queries:
            assert user_api.get("/accounts/DW1234/holdings").json()["count"] == size
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8


def test_paper_account_portfolio_live(user_api):
    account = user_api.post("/broker/connect/initiate", {"broker": "paper", "opening_cash": "250000"}, format="json").json()

    funds = user_api.get(f"/accounts/{account['account_id']}/funds").json()

    assert funds["funds"]["equity"]["available"]["cash"] == 250000.0
    assert user_api.get(f"/accounts/{account['account_id']}/holdings").json()["count"] == 0


def test_zerodha_account_through_the_real_sdk(user_api, kite_wired_account, kite_wire):
    positions = user_api.get("/accounts/ZX4821/positions").json()
    funds = user_api.get("/accounts/ZX4821/funds").json()

    from brokers.tests.fixtures import wire_body

    assert positions["count"] == len(wire_body("zerodha", "portfolio_positions.json")["data"]["net"])
    assert set(funds["funds"]) == {"equity", "commodity"}
    authorization = kite_wire.calls("/portfolio/holdings")[0].request.headers["Authorization"]
    assert authorization == "token kitekey123:kAcc3ssT0kenValue9"


def test_kotak_account_through_the_real_sdk(user_api, neo_wired_account):
    holdings = user_api.get("/accounts/AB123/holdings").json()
    funds = user_api.get("/accounts/AB123/funds", {"segment": "equity"}).json()

    assert holdings["count"] >= 1 and holdings["holdings"][0]["tradingsymbol"]
    assert "net" in funds["funds"]["equity"]


def test_seed_000_single_account_paths(user_api, kite_account):
    holdings = user_api.get("/broker/portfolio/holdings").json()
    positions = user_api.get("/broker/portfolio/positions", HTTP_X_ACCOUNT_ID="DW1234").json()
    both = user_api.get("/broker/portfolio", {"broker": "zerodha"}).json()
    limits = user_api.get("/broker/limits").json()

    assert holdings["success"] is True and [h["tradingsymbol"] for h in holdings["data"]] == ["INFY", "TCS"]
    assert positions["data"][0]["tradingsymbol"] == "NIFTY25NOVFUT"
    assert set(both) == {"success", "holdings", "positions"} and len(both["holdings"]) == 2
    assert limits == {"success": True, "data": {"debits": 50000.0, "cash": 150000.5, "net": 150000.5}}


def test_seed_000_paths_hide_other_users_accounts(other_api, kite_account):
    for path in ["/broker/portfolio", "/broker/portfolio/holdings", "/broker/portfolio/positions", "/broker/limits"]:
        assert other_api.get(path, HTTP_X_ACCOUNT_ID="DW1234").status_code == 404


def test_unknown_broker_filter_is_400(user_api, kite_account):
    response = user_api.get("/accounts/DW1234/holdings", {"broker": "upstox"})
    assert response.status_code == 400 and "upstox" in response.json()["detail"]


@pytest.mark.parametrize("body", [["force"], {"force": "sometimes"}])
def test_bad_sync_body_is_400_and_fetches_nothing(user_api, kite_account, body):
    response = user_api.post("/accounts/DW1234/sync", body, format="json")
    assert response.status_code == 400 and response.json()["status_code"] == 400
    assert ScriptedAdapter.rounds == 0
