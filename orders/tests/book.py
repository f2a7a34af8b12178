"""A broker whose order and trade books the test writes, and an account on it; and a paper account with orders
placed through the API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from brokers.adapters import registry
from brokers.calendar import IST
from brokers.domain import Broker, BrokerOrder, Fill, InstrumentSpec, OrderStatus
from brokers.models import BrokerConnection
from brokers.tests.fixtures import StubAdapter
from brokers.paper.models import PaperInstrument
from orders.models import Order

D = Decimal


def book_row(broker_order_id: str, status: str, **fields) -> BrokerOrder:
    """A limit buy of 10 INFY at 1500 as a broker's order book reports it."""
    row = {"broker_order_id": broker_order_id, "status": status, "tradingsymbol": "INFY", "exchange": "NSE",
           "transaction_type": "BUY", "order_type": "LIMIT", "product": "CNC", "quantity": 10, "filled_quantity": 0,
           "pending_quantity": 10, "price": D("1500"), "trigger_price": D("0"), "average_price": D("0"),
           "exchange_order_id": f"X{broker_order_id}",
           "order_timestamp": datetime(2026, 11, 16, 9, 20, tzinfo=IST)}
    return BrokerOrder(**{**row, **fields})


def fill(broker_order_id: str, trade_id: str, quantity: int, **fields) -> Fill:
    return Fill(**{"trade_id": trade_id, "broker_order_id": broker_order_id, "tradingsymbol": "INFY",
                   "exchange": "NSE", "transaction_type": "BUY", "product": "CNC", "quantity": quantity,
                   "price": D("1499.5"), "exchange_order_id": f"X{broker_order_id}", **fields})


class BookAdapter(StubAdapter):
    """A broker answering from `book` and `fills`; it takes orders and says how an instrument may be ordered."""

    book: list[BrokerOrder] = []
    fills: list[Fill] = []
    spec: InstrumentSpec | None = None
    placed: list = []

    def instrument_spec(self, *, exchange, tradingsymbol):
        return BookAdapter.spec

    def order_place(self, order):
        BookAdapter.placed.append(order)
        return f"B{len(BookAdapter.placed)}"

    def orders(self):
        return list(BookAdapter.book)

    def trades(self):
        return list(BookAdapter.fills)


@pytest.fixture
def book_account(monkeypatch, user) -> BrokerConnection:
    monkeypatch.setitem(registry.ADAPTERS, Broker.ZERODHA, BookAdapter)
    BookAdapter.book, BookAdapter.fills, BookAdapter.spec, BookAdapter.placed = [], [], None, []
    return BrokerConnection.objects.create(user=user, broker="zerodha", account_id="ZB1001", status="connected",
                                           session={"access_token": "t"})


def stored_order(connection: BrokerConnection, broker_order_id: str, **fields) -> Order:
    """An order BudhiTrade placed and the broker took."""
    return Order.objects.create(**{
        "connection": connection, "broker_order_id": broker_order_id, "broker_tag": f"bt{broker_order_id}",
        "tradingsymbol": "INFY", "exchange": "NSE", "transaction_type": "BUY", "order_type": "LIMIT",
        "product": "CNC", "quantity": 10, "price": D("1500"), "pending_quantity": 10, "status": OrderStatus.OPEN,
        "order_timestamp": datetime(2026, 11, 16, 9, 20, tzinfo=IST), **fields})


@pytest.fixture
def account(user_api, paper_market) -> str:
    """A paper account of the test user, connected through the API."""
    return user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]


def ltp(symbol: str) -> Decimal:
    return PaperInstrument.objects.get(tradingsymbol=symbol).last_price


def order(**fields) -> dict:
    """An order body for the API: a market buy of 10 ITC for delivery, with `fields` (None drops one)."""
    body = {"tradingsymbol": "ITC", "exchange": "NSE", "transaction_type": "BUY", "quantity": 10,
            "order_type": "MARKET", "product": "CNC", **fields}
    return {name: value for name, value in body.items() if value is not None}
