"""A scripted broker for portfolio tests, and an account that uses it."""

from decimal import Decimal

import pytest

from brokers.adapters import registry
from brokers.adapters.base import BrokerAdapter
from brokers.domain import Broker, FundsSegment, Holding, Position, SegmentFunds
from brokers.models import BrokerConnection

D = Decimal


def holding(symbol: str, qty: int = 10) -> Holding:
    return Holding(tradingsymbol=symbol, exchange="NSE", isin="INE000000000", quantity=qty, average_price=D("100"),
                   last_price=D("110.5"), close_price=D("109"), pnl=D("105"), day_change=D("1.5"))


def position(symbol: str) -> Position:
    return Position(tradingsymbol=symbol, exchange="NFO", product="NRML", quantity=75, average_price=D("24500.5"),
                    last_price=D("24550"), close_price=D("24500"), pnl=D("3712.5"), m2m=D("3712.5"), day_pnl=D("500"),
                    value=D("1841287.5"), buy_quantity=75, buy_price=D("24500.5"), sell_quantity=0, sell_price=D("0"),
                    overnight_quantity=75)


class ScriptedAdapter(BrokerAdapter):
    """A broker whose portfolio the test writes; counts its rounds."""

    broker = Broker.ZERODHA
    holdings_rows: list = []
    positions_rows: list | None = None  # None: the one future below
    fail_positions: Exception | None = None
    fail_holdings: Exception | None = None
    rounds = 0

    def login_start(self, *, otp="", state=""):
        raise NotImplementedError

    def logout(self):
        pass

    def holdings(self):
        ScriptedAdapter.rounds += 1
        if ScriptedAdapter.fail_holdings:
            raise ScriptedAdapter.fail_holdings
        return list(ScriptedAdapter.holdings_rows)

    def positions(self):
        if ScriptedAdapter.fail_positions:
            raise ScriptedAdapter.fail_positions
        if ScriptedAdapter.positions_rows is not None:
            return list(ScriptedAdapter.positions_rows)
        return [position("NIFTY25NOVFUT")]

    def funds(self):
        return [SegmentFunds(segment=FundsSegment.EQUITY, enabled=True, net=D("150000.5"),
                             available={"cash": D("150000.5")}, utilised={"debits": D("50000")})]


@pytest.fixture
def kite_account(monkeypatch, user):
    monkeypatch.setitem(registry.ADAPTERS, Broker.ZERODHA, ScriptedAdapter)
    ScriptedAdapter.holdings_rows = [holding("TCS"), holding("INFY", 5)]
    ScriptedAdapter.positions_rows = None
    ScriptedAdapter.fail_positions = None
    ScriptedAdapter.fail_holdings = None
    ScriptedAdapter.rounds = 0
    return BrokerConnection.objects.create(user=user, broker="zerodha", account_id="DW1234", status="connected",
                                           session={"access_token": "t"})


NEO_BASE = "https://e43.kotaksecurities.com"


@pytest.fixture
def kite_wired_account(user, kite_wire):
    """A Zerodha account whose portfolio calls reach the real kiteconnect and recorded Kite answers."""
    kite_wire.reply("GET", "/portfolio/holdings", "portfolio_holdings.json")
    kite_wire.reply("GET", "/portfolio/positions", "portfolio_positions.json")
    kite_wire.reply("GET", "/user/margins", "user_margins.json")
    return BrokerConnection.objects.create(user=user, broker="zerodha", account_id="ZX4821", status="connected",
                                           credentials={"api_key": "kitekey123", "api_secret": "s"},
                                           session={"access_token": "kAcc3ssT0kenValue9"})


@pytest.fixture
def neo_wired_account(user, neo_wire):
    """A Kotak Neo account whose portfolio calls reach the real NeoAPI and recorded Kotak answers."""
    neo_wire.reply("GET", f"{NEO_BASE}/portfolio/v1/holdings", "holdings_success.json")
    neo_wire.reply("GET", f"{NEO_BASE}/portfolio/v2/positions", "positions_success.json")
    neo_wire.reply("POST", f"{NEO_BASE}/quick/user/limits", "limits_success.json")
    return BrokerConnection.objects.create(
        user=user, broker="kotak_neo", account_id="AB123", status="connected", options={"environment": "prod"},
        credentials={"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"},
        session={"edit_token": "eyJ.trade", "edit_sid": "sid-2", "base_url": NEO_BASE, "ucc": "AB123"},
    )
