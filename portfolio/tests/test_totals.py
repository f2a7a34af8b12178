"""Totals over the richer rows: T1 shares, lot multipliers, and rows the broker gave no price for."""

from dataclasses import replace
from decimal import Decimal

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from brokers.adapters.base import BrokerUnavailable
from brokers.models import BrokerConnection
from portfolio import services
from portfolio.models import AccountSync, DailySnapshot, Holding
from portfolio.tests.fixtures import ScriptedAdapter, holding, position

pytestmark = pytest.mark.django_db
D = Decimal
FUNDS_NET, FUNDS_DEBITS = 150000.5, 50000.0  # ScriptedAdapter's equity funds


def unpriced_holding(symbol: str, qty: int = 4) -> object:
    return replace(holding(symbol, qty), last_price=None, pnl=None, day_change=None)


def unpriced_position(symbol: str, quantity: int = 50) -> object:
    return replace(position(symbol), quantity=quantity, last_price=None, pnl=None, m2m=None, day_pnl=None,
                   unrealised=None, realised=D("-120"))


def test_holding_rows_carry_t1_and_the_brokers_own_figures(user_api, kite_account):
    ScriptedAdapter.holdings_rows = [replace(holding("TCS", 10), t1_quantity=3, sellable_quantity=10,
                                             market_value=D("1436.5"), holding_cost=D("1300"), instrument_token="2953217")]

    body = user_api.get("/accounts/DW1234/holdings").json()

    [row] = body["holdings"]
    assert (row["quantity"], row["t1_quantity"], row["sellable_quantity"]) == (10, 3, 10)
    assert (row["market_value"], row["holding_cost"], row["instrument_token"]) == (1436.5, 1300.0, "2953217")
    assert row["price_missing"] is False
    assert body["total_value"] == 1436.5 and body["prices_missing"] == 0  # 110.5 x (10 + 3)


def test_position_rows_carry_multiplier_and_realised_and_unrealised(user_api, kite_account):
    ScriptedAdapter.positions_rows = [replace(position("GOLDM26JANFUT"), exchange="MCX", quantity=2,
                                              average_price=D("7200"), multiplier=D("10"), realised=D("0"),
                                              unrealised=D("1000"))]

    [row] = user_api.get("/accounts/DW1234/positions").json()["positions"]

    assert (row["multiplier"], row["realised"], row["unrealised"], row["price_missing"]) == (10.0, 0.0, 1000.0, False)


def test_holdings_without_a_price_are_flagged_and_left_out_of_the_totals(user_api, kite_account):
    ScriptedAdapter.holdings_rows = [holding("TCS", 10), unpriced_holding("IDEA")]

    body = user_api.get("/accounts/DW1234/holdings").json()

    rows = {row["tradingsymbol"]: row for row in body["holdings"]}
    assert rows["IDEA"]["price_missing"] is True
    assert (rows["IDEA"]["last_price"], rows["IDEA"]["pnl"], rows["IDEA"]["day_change"]) == (None, None, None)
    assert rows["TCS"]["price_missing"] is False
    assert body["total_value"] == 1105.0 and body["total_pnl"] == 105.0 and body["prices_missing"] == 1


def test_open_positions_without_a_price_are_flagged_and_a_closed_one_counts_what_it_realised(user_api, kite_account):
    ScriptedAdapter.positions_rows = [position("NIFTY25NOVFUT"), unpriced_position("BANKNIFTY25NOVFUT"),
                                      unpriced_position("SBIN", quantity=0)]

    body = user_api.get("/accounts/DW1234/positions").json()
    [listed] = user_api.get("/accounts").json()["accounts"]

    flags = {row["tradingsymbol"]: row["price_missing"] for row in body["positions"]}
    assert flags == {"NIFTY25NOVFUT": False, "BANKNIFTY25NOVFUT": True, "SBIN": False}
    assert body["total_pnl"] == 3712.5 - 120 and body["day_pnl"] == 500.0 and body["prices_missing"] == 1
    assert (listed["total_pnl"], listed["day_pnl"], listed["prices_missing"]) == (3592.5, 500.0, 1)


def test_dashboard_counts_t1_shares_and_lot_multipliers(user_api, kite_account):
    ScriptedAdapter.holdings_rows = [replace(holding("TCS", 10), t1_quantity=5)]
    ScriptedAdapter.positions_rows = [replace(position("GOLDM26JANFUT"), exchange="MCX", quantity=-2,
                                              average_price=D("7200"), multiplier=D("10"), pnl=D("-400"),
                                              day_pnl=D("-400"))]

    body = user_api.get("/dashboard").json()

    holding_value, holding_cost, position_capital = 110.5 * 15, 100.0 * 15, 7200.0 * 2 * 10
    assert body["portfolio_overview"]["value"] == pytest.approx(FUNDS_NET + FUNDS_DEBITS + holding_value)
    assert body["allocated_funds"] == pytest.approx(holding_cost + FUNDS_DEBITS)
    trades = {row["stock"]: row for row in body["ongoing_trades"]}
    assert (trades["TCS"]["quantity"], trades["TCS"]["capital_used"]) == (15, holding_cost)
    assert (trades["GOLDM26JANFUT"]["quantity"], trades["GOLDM26JANFUT"]["capital_used"]) == (-2, position_capital)
    profit = 105.0 - 400.0
    assert body["overall_profit"]["value"] == profit
    assert body["overall_profit"]["percentage"] == round(profit / (holding_cost + position_capital) * 100, 2)
    assert body["portfolio_overview"]["prices_missing"] == body["overall_profit"]["prices_missing"] == 0


def test_dashboard_never_values_a_missing_price_at_zero(user_api, kite_account):
    ScriptedAdapter.holdings_rows = [holding("TCS", 10), unpriced_holding("IDEA", 4)]
    ScriptedAdapter.positions_rows = [unpriced_position("BANKNIFTY25NOVFUT")]

    body = user_api.get("/dashboard").json()

    assert body["portfolio_overview"]["value"] == pytest.approx(FUNDS_NET + FUNDS_DEBITS + 110.5 * 10)
    assert body["portfolio_overview"]["prices_missing"] == body["overall_profit"]["prices_missing"] == 2
    assert body["overall_profit"]["value"] == 105.0
    assert body["overall_profit"]["percentage"] == round(105.0 / (100 * 10) * 100, 2)  # over the priced rows' cost
    assert body["allocated_funds"] == pytest.approx(100 * 14 + FUNDS_DEBITS)  # every holding's cost is known
    trades = {row["stock"]: row for row in body["ongoing_trades"]}
    assert (trades["IDEA"]["profit"], trades["IDEA"]["price_missing"]) == (None, True)
    assert (trades["BANKNIFTY25NOVFUT"]["profit"], trades["BANKNIFTY25NOVFUT"]["price_missing"]) == (None, True)
    assert trades["IDEA"]["capital_used"] == 400.0  # cost is known without a price
    assert (trades["TCS"]["profit"], trades["TCS"]["price_missing"]) == (105.0, False)


def test_session_snapshot_values_only_priced_holdings(kite_account):
    ScriptedAdapter.holdings_rows = [holding("TCS", 10), unpriced_holding("IDEA", 4)]
    services.account_sync(connection=kite_account)

    snapshot = services.snapshot_take(connection=kite_account, day=kite_account.created_at.date())

    assert Holding.objects.filter(connection=kite_account, last_price__isnull=True).count() == 1
    assert snapshot.value == D("150000.5") + D("50000") + D("110.5") * 10
    assert snapshot.invested == D("100") * 14 and DailySnapshot.objects.count() == 1


def test_a_just_connected_paper_account_lists_its_funds_at_once(user_api):
    account_id = user_api.post("/broker/connect/initiate", {"broker": "paper", "opening_cash": "250000"},
                               format="json").json()["account_id"]

    [listed] = user_api.get("/accounts").json()["accounts"]
    detail = user_api.get(f"/accounts/{account_id}").json()["account"]

    assert listed["account_id"] == account_id and listed["available_margin"] == 250000.0
    assert listed["synced_at"] is not None and detail["account_id"] == account_id


def test_an_account_whose_first_sync_fails_is_listed_without_a_made_up_margin(user_api, kite_account):
    ScriptedAdapter.fail_holdings = BrokerUnavailable()

    response = user_api.get("/accounts")

    assert response.status_code == 200
    [listed] = response.json()["accounts"]
    assert (listed["available_margin"], listed["synced_at"]) == (None, None)
    ScriptedAdapter.fail_holdings = None
    [listed] = user_api.get("/accounts").json()["accounts"]
    assert listed["available_margin"] == FUNDS_NET


def test_account_list_query_count_does_not_grow_with_accounts(user_api, user, kite_account):
    user_api.get("/accounts")  # the first read syncs the account
    counts = []
    for extra in (0, 5):
        for index in range(extra):
            connection = BrokerConnection.objects.create(user=user, broker="zerodha", account_id=f"ZZ{index}",
                                                         status="disconnected")
            AccountSync.objects.create(connection=connection)
        with CaptureQueriesContext(db) as queries:
            assert user_api.get("/accounts").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_rows_keep_an_exchange_or_product_budhitrade_does_not_know_as_the_broker_sent_it(user_api, kite_account):
    ScriptedAdapter.holdings_rows = [replace(holding("RELIANCE"), exchange="nse_com", product="MTF"),
                                     holding("TCS")]
    ScriptedAdapter.positions_rows = [replace(position("CRUDEOIL26JANFUT"), exchange="NCDEX-COMM", product="BO-COVER")]

    holdings = user_api.get("/accounts/DW1234/holdings").json()["holdings"]
    [row] = user_api.get("/accounts/DW1234/positions").json()["positions"]

    assert [(h["tradingsymbol"], h["exchange"], h["product"]) for h in holdings] == [
        ("RELIANCE", "nse_com", "MTF"), ("TCS", "NSE", "CNC")]
    assert (row["exchange"], row["product"]) == ("NCDEX-COMM", "BO-COVER")
