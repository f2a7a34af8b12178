"""Kite's names for BudhiTrade's values, and how Kite writes numbers and times."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from brokers.adapters.base import BrokerError
from brokers.adapters.wiremap import WireMap
from brokers.domain import Broker, OrderStatus

IST = ZoneInfo("Asia/Kolkata")
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# Kite already names exchanges and products the way BudhiTrade does, so each
# table is the identity; it exists to flag a value not seen before.
EXCHANGES = WireMap(Broker.ZERODHA, "exchange", {name: name for name in ("NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX")})
PRODUCTS = WireMap(Broker.ZERODHA, "product", {name: name for name in ("CNC", "MIS", "NRML", "MTF", "CO", "BO")})
TRANSACTION_TYPES = WireMap(Broker.ZERODHA, "transaction type", {"BUY": "BUY", "SELL": "SELL"})
ORDER_TYPES = WireMap(Broker.ZERODHA, "order type", {name: name for name in ("MARKET", "LIMIT", "SL", "SL-M")})
# Every variety Kite reports (orders placed in Kite's own apps show up too);
# BudhiTrade places, modifies and cancels only regular orders and AMOs.
VARIETIES = WireMap(
    Broker.ZERODHA, "order variety", {name: name for name in ("regular", "amo", "co", "iceberg", "auction")},
    writes={"regular": "regular", "amo": "amo"},
)
VALIDITIES = WireMap(
    Broker.ZERODHA, "validity", {name: name for name in ("DAY", "IOC", "TTL")},
    writes={"DAY": "DAY", "IOC": "IOC"},
)

# Kite's order statuses (kite.trade/docs/connect/v3/orders, "Order statuses"). The
# five it ends up in are BudhiTrade's own; the in-flight ones are folded in:
# - a new order Kite holds but the exchange has not yet taken (received,
#   RMS validation, registration at the exchange) is PENDING: it may still be
#   rejected, and it settles in a moment;
# - an after-market order waiting for the open (AMO REQ RECEIVED) is OPEN: it is
#   accepted, cancellable and modifiable, and rests for hours, not a moment;
# - an open order whose modification or cancellation is on its way (MODIFY
#   VALIDATION PENDING, MODIFY PENDING, MODIFIED, CANCEL PENDING) is still OPEN:
#   it can fill until the exchange confirms the change.
ORDER_STATUSES = WireMap(Broker.ZERODHA, "order status", {
    "OPEN": OrderStatus.OPEN,
    "COMPLETE": OrderStatus.COMPLETE,
    "CANCELLED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "TRIGGER PENDING": OrderStatus.TRIGGER_PENDING,
    "PUT ORDER REQ RECEIVED": OrderStatus.PENDING,
    "VALIDATION PENDING": OrderStatus.PENDING,
    "OPEN PENDING": OrderStatus.PENDING,
    "AMO REQ RECEIVED": OrderStatus.OPEN,
    "MODIFY VALIDATION PENDING": OrderStatus.OPEN,
    "MODIFY PENDING": OrderStatus.OPEN,
    "MODIFIED": OrderStatus.OPEN,
    "CANCEL PENDING": OrderStatus.OPEN,
})


def money(value: Any) -> Decimal:
    """Kite sends floats (or null for an amount it does not have, read as 0)."""
    return Decimal(str(value if value is not None else 0))


def price(value: Any) -> Decimal | None:
    """A price Kite may not have: null stays None, never a made-up 0."""
    return None if value is None or value == "" else Decimal(str(value))


def count(value: Any) -> int:
    return int(value or 0)


def count_or_none(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def timestamp_from_wire(value: Any) -> datetime | None:
    """Kite's IST wall-clock time as an aware datetime.

    kiteconnect already turns "YYYY-MM-DD HH:MM:SS" into a naive datetime for
    some fields (order, exchange and fill times, quote times) and leaves
    others as strings (exchange_update_timestamp, every postback field), so
    both are read as IST; null (an order the exchange never saw) is None.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=IST) if value.tzinfo is None else value
    if isinstance(value, str):
        try:
            return datetime.strptime(value, TIMESTAMP_FORMAT).replace(tzinfo=IST)
        except ValueError:
            pass
    raise BrokerError(f"Zerodha sent an unreadable timestamp: {value!r}.")
