"""Seed 003's dashboard: paper live over a replayed week, Kite and Neo through their real SDKs."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from brokers.paper import ledger, market
from brokers.calendar import next_trading_day, session_bounds
from brokers.models import BrokerConnection
from brokers.paper.models import PaperAccount, PaperHolding, PaperInstrument
from brokers.tests.fixtures import PAPER_START_DAY, ist, wire_body
from portfolio import services
from portfolio.models import DailySnapshot
from portfolio.tests.fixtures import ScriptedAdapter, holding

pytestmark = pytest.mark.django_db
KEYS = {"activity_status", "portfolio_overview", "unused_funds", "allocated_funds", "ongoing_trades",
        "recent_trades", "overall_profit"}


@pytest.fixture
def paper_week(paper_market, user_api):
    """A paper account with holdings, a week of session-close snapshots and a trade closed today."""
    account_id = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]
    account = PaperAccount.objects.get(account_id=account_id)
    PaperHolding.objects.create(account=account, instrument=PaperInstrument.objects.get(tradingsymbol="TCS"),
                                quantity=15, average_price=Decimal("3000"))
    connection = BrokerConnection.objects.get(account_id=account_id)
    day = PAPER_START_DAY
    for _ in range(8):
        market.market_advance(to=session_bounds(day)[1])
        services.account_snapshot(connection=connection, day=day)
        day = next_trading_day(day)
    market.market_advance(to=ist(day, 10, 0))
    sbin = PaperInstrument.objects.get(tradingsymbol="SBIN")
    ledger.ledger_fill(account_id=account_id, instrument=sbin, side="BUY", quantity=10, price=Decimal("950"), product="MIS")
    ledger.ledger_fill(account_id=account_id, instrument=sbin, side="SELL", quantity=10, price=Decimal("960"), product="MIS")
    services.account_sync(connection=connection, force=True)
    return connection


def test_paper_dashboard_in_seed_003_shape_with_seven_days_of_history(user_api, paper_week):
    body = user_api.get("/dashboard").json()

    assert set(body) == KEYS
    assert body["activity_status"]["is_active"] is True and body["activity_status"]["last_active"]
    history = body["overall_profit"]["last_7_days"]
    stored = list(DailySnapshot.objects.filter(connection=paper_week).order_by("-date")[:7])[::-1]
    assert [row["date"] for row in history] == [s.date.isoformat() for s in stored]
    assert [row["value"] for row in history] == [float(round(s.value, 2)) for s in stored]
    assert [row["profit"] for row in history] == [float(round(s.day_pnl, 2)) for s in stored]
    [tcs] = body["ongoing_trades"]
    assert (tcs["stock"], tcs["quantity"], tcs["bought"], tcs["capital_used"]) == ("TCS", 15, 3000.0, 45000.0)
    [sbin] = body["recent_trades"]
    assert (sbin["stock"], sbin["bought"], sbin["sold"], sbin["quantity"], sbin["profit"]) == ("SBIN", 950.0, 960.0, 10, 100.0)
    funds = user_api.get(f"/accounts/{paper_week.account_id}/funds").json()["funds"]["equity"]
    assert body["unused_funds"] == funds["net"]
    assert body["allocated_funds"] == 45000.0 + funds["utilised"]["debits"]
    tcs_value = 15 * float(PaperInstrument.objects.get(tradingsymbol="TCS").last_price)
    assert body["portfolio_overview"]["value"] == pytest.approx(funds["net"] + funds["utilised"]["debits"] + tcs_value)


def test_snapshots_differ_day_to_day_as_the_market_moves(paper_week):
    values = list(DailySnapshot.objects.filter(connection=paper_week).values_list("value", flat=True))
    assert len(values) == 8 and len(set(values)) > 4


def test_dashboard_narrows_to_one_account_and_hides_other_users(user_api, other_api, paper_week, kite_account):
    both = user_api.get("/dashboard").json()
    paper_only = user_api.get("/dashboard", HTTP_X_ACCOUNT_ID=paper_week.account_id).json()

    assert {t["account_id"] for t in both["ongoing_trades"]} == {paper_week.account_id, "DW1234"}
    assert {t["account_id"] for t in paper_only["ongoing_trades"]} == {paper_week.account_id}
    assert other_api.get("/dashboard", HTTP_X_ACCOUNT_ID=paper_week.account_id).status_code == 404
    assert other_api.get("/dashboard").json()["ongoing_trades"] == []


def test_dashboard_of_a_user_with_no_accounts(other_api):
    body = other_api.get("/dashboard").json()
    assert body["activity_status"] == {"is_active": False, "last_active": None}
    assert body["unused_funds"] == 0 and body["overall_profit"]["last_7_days"] == []


def test_dashboard_query_count_stays_constant_as_holdings_grow(user_api, kite_account):
    counts = []
    for size in (5, 500):
        ScriptedAdapter.holdings_rows = [holding(f"S{i:04d}") for i in range(size)]
        user_api.post("/accounts/DW1234/sync", {"force": True}, format="json")
        with CaptureQueriesContext(db) as queries:
            assert len(user_api.get("/dashboard").json()["ongoing_trades"]) == size + 1
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 12


def test_zerodha_dashboard_through_the_real_sdk(user_api, kite_wired_account):
    margins = wire_body("zerodha", "user_margins.json")["data"]
    holdings = wire_body("zerodha", "portfolio_holdings.json")["data"]

    body = user_api.get("/dashboard").json()

    assert set(body) == KEYS
    assert body["unused_funds"] == pytest.approx(margins["equity"]["net"] + margins["commodity"]["net"])
    assert {t["stock"] for t in body["ongoing_trades"]} >= {h["tradingsymbol"] for h in holdings}


def test_kotak_dashboard_through_the_real_sdk(user_api, neo_wired_account):
    limits = wire_body("kotak_neo", "limits_success.json")

    body = user_api.get("/dashboard").json()

    assert set(body) == KEYS
    assert body["unused_funds"] == pytest.approx(float(limits["Net"]))
    assert len(body["ongoing_trades"]) >= len(wire_body("kotak_neo", "holdings_success.json")["data"])


POSITION_FIELDS = {"tradingsymbol", "exchange", "product", "quantity", "average_price", "last_price", "close_price",
                   "pnl", "m2m", "day_pnl", "value", "buy_quantity", "buy_price", "sell_quantity", "sell_price",
                   "overnight_quantity", "instrument_token", "multiplier", "realised", "unrealised", "price_missing"}
HOLDING_FIELDS = {"tradingsymbol", "exchange", "isin", "quantity", "average_price", "last_price", "close_price", "pnl",
                  "day_change", "product", "collateral_quantity", "collateral_type", "t1_quantity", "sellable_quantity",
                  "market_value", "holding_cost", "instrument_token", "price_missing"}


def test_paper_account_live_in_seed_004_and_000_shapes(user_api, paper_market):
    account_id = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]
    account = PaperAccount.objects.get(account_id=account_id)
    PaperHolding.objects.create(account=account, instrument=PaperInstrument.objects.get(tradingsymbol="ITC"),
                                quantity=100, average_price=Decimal("390"))
    future = PaperInstrument.objects.get(tradingsymbol="NIFTY26NOVFUT")
    ledger.ledger_fill(account_id=account_id, instrument=future, side="BUY", quantity=65, price=future.last_price,
                       product="NRML")
    market.market_advance(to=ist(PAPER_START_DAY, 12, 0))
    future.refresh_from_db()

    positions = user_api.get(f"/accounts/{account_id}/positions", {"fresh": "true"}).json()
    holdings = user_api.get(f"/accounts/{account_id}/holdings").json()
    funds = user_api.get(f"/accounts/{account_id}/funds", {"segment": "equity"}).json()
    [listed] = user_api.get("/accounts").json()["accounts"]
    seed_000 = user_api.get("/broker/portfolio", HTTP_X_ACCOUNT_ID=account_id).json()
    limits = user_api.get("/broker/limits", HTTP_X_ACCOUNT_ID=account_id).json()

    [row] = positions["positions"]
    assert set(row) == POSITION_FIELDS and (row["tradingsymbol"], row["quantity"]) == ("NIFTY26NOVFUT", 65)
    assert row["last_price"] == float(future.last_price) and row["instrument_token"] == str(future.token)
    assert positions["total_pnl"] == row["pnl"] == pytest.approx((row["last_price"] - row["average_price"]) * 65)
    [itc] = holdings["holdings"]
    assert set(itc) == HOLDING_FIELDS and itc["isin"] == "INE154A01025"
    assert holdings["total_value"] == pytest.approx(100 * itc["last_price"])
    equity = funds["funds"]["equity"]
    margin = float(future.last_price) * 65 * 0.08
    assert equity["utilised"]["debits"] == pytest.approx(margin, abs=0.02)
    assert equity["net"] == pytest.approx(1000000 - margin + min(row["pnl"], 0), abs=0.02)
    assert listed["position_count"] == 1 and listed["available_margin"] == equity["net"]
    assert seed_000["success"] is True and seed_000["positions"] == positions["positions"]
    assert seed_000["holdings"] == holdings["holdings"]
    assert limits["data"]["net"] == equity["net"] and limits["data"]["cash"] == 1000000.0
