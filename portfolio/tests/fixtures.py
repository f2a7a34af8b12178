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
    fail_positions: Exception | None = None
    rounds = 0

    def login_start(self, *, otp="", state=""):
        raise NotImplementedError

    def logout(self):
        pass

    def holdings(self):
        ScriptedAdapter.rounds += 1
        return list(ScriptedAdapter.holdings_rows)

    def positions(self):
        if ScriptedAdapter.fail_positions:
            raise ScriptedAdapter.fail_positions
        return [position("NIFTY25NOVFUT")]

    def funds(self):
        return [SegmentFunds(segment=FundsSegment.EQUITY, enabled=True, net=D("150000.5"),
                             available={"cash": D("150000.5")}, utilised={"debits": D("50000")})]


@pytest.fixture
def kite_account(monkeypatch, user):
    monkeypatch.setitem(registry.ADAPTERS, Broker.ZERODHA, ScriptedAdapter)
    ScriptedAdapter.holdings_rows = [holding("TCS"), holding("INFY", 5)]
    ScriptedAdapter.fail_positions = None
    ScriptedAdapter.rounds = 0
    return BrokerConnection.objects.create(user=user, broker="zerodha", account_id="DW1234", status="connected",
                                           session={"access_token": "t"})
