"""Kotak Neo's codes for exchanges and products, and how its scalar values read.

Every enum Kotak sends or takes is a WireMap: a value Kotak sends that
BudhiTrade cannot name yet stays raw in its row (logged once as
`kotak_neo_unknown_value`); a value BudhiTrade would send that Kotak does not
take is refused (400) before anything is sent.
"""

from __future__ import annotations

import re
from datetime import datetime
from datetime import timezone as dt_timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from brokers.adapters.base import BrokerError
from brokers.adapters.wiremap import WireMap
from brokers.calendar import IST
from brokers.domain import Broker

# Neo's exchange segments. `nse_com` (NSE's commodity derivatives) is a
# segment Kotak lists but BudhiTrade has no exchange name for yet: a row on
# it keeps the raw segment.
EXCHANGES = WireMap(Broker.KOTAK_NEO, "exchange segment", {
    "nse_cm": "NSE",
    "bse_cm": "BSE",
    "nse_fo": "NFO",
    "bse_fo": "BFO",
    "mcx_fo": "MCX",
    "cde_fo": "CDS",
})
# Neo's product codes are BudhiTrade's own; books may show MTF, CO or BO
# orders placed in Kotak's own apps.
PRODUCTS = WireMap(Broker.KOTAK_NEO, "product", {name: name for name in ("CNC", "MIS", "NRML", "MTF", "CO", "BO")})

# What Neo writes in a text field that has nothing to say.
BLANK_TEXT = frozenset({"", "NA", "--", "-"})
_NEO_TIMESTAMP = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{1,2}):(\d{2}):(\d{2})")
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


def exchange_from_wire(segment: Any) -> str:
    return EXCHANGES.from_wire(segment)


def exchange_to_wire(exchange: str) -> str:
    return EXCHANGES.to_wire(exchange)


def product_from_wire(value: Any) -> str:
    return PRODUCTS.from_wire(value)


def product_to_wire(value: str) -> str:
    return PRODUCTS.to_wire(value)


def money(value: Any) -> Decimal:
    """Neo sends amounts as strings or numbers; a blank field is zero."""
    if value is None or value == "":
        return Decimal("0")
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise BrokerError(f"Kotak Neo sent an unreadable amount: {value!r}.") from None


def optional_money(value: Any) -> Decimal | None:
    """An amount that may be absent: None, never a made-up 0."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return money(value)


def quantity(value: Any) -> int:
    if value is None or value == "":
        return 0
    try:
        return int(Decimal(str(value).strip()))
    except InvalidOperation:
        raise BrokerError(f"Kotak Neo sent an unreadable quantity: {value!r}.") from None


def optional_quantity(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return quantity(value)


def text(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return "" if text in BLANK_TEXT else text


def flag(value: Any) -> bool:
    """Neo's booleans come as JSON booleans or as the strings "true"/"false"."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def wire_number(value: Decimal | int | None) -> str:
    """Neo takes numbers as strings; no price (a market order's) is "0"."""
    if value is None:
        return "0"
    return format(Decimal(value), "f")


def timestamp_from_wire(value: Any) -> datetime | None:
    """Neo's IST wall-clock time ("22-Jan-2025 14:28:01") as an aware datetime; "NA" or "--" is None.

    Read without the locale (%b would follow it). Spaces after the colons,
    as in the SDK docs' "14: 32: 53", are dropped.
    """
    raw = text(value)
    if not raw:
        return None
    match = _NEO_TIMESTAMP.fullmatch(re.sub(r":\s+", ":", raw))
    month = _MONTHS.get(match.group(2).title()) if match else None
    if match is None or month is None:
        raise BrokerError(f"Kotak Neo sent an unreadable timestamp: {value!r}.")
    day, year, hour, minute, second = (int(match.group(i)) for i in (1, 3, 4, 5, 6))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=IST)
    except ValueError:
        raise BrokerError(f"Kotak Neo sent an unreadable timestamp: {value!r}.") from None


def epoch_from_wire(value: Any) -> datetime | None:
    """Epoch seconds (Neo's `boeSec`, a quote's `lstup_time`) as an aware datetime; blank or 0 is None."""
    raw = text(value)
    if not raw:
        return None
    try:
        seconds = int(Decimal(raw))
    except InvalidOperation:
        raise BrokerError(f"Kotak Neo sent an unreadable time: {value!r}.") from None
    if seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, tz=dt_timezone.utc).astimezone(IST)
