"""Kite Connect wire formats to BudhiTrade types: the only module that knows Kite's keys."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from brokers.adapters.base import BrokerError, BrokerOrderRejected
from brokers.domain import (
    INSTRUMENT_NAME_LENGTH,
    INSTRUMENT_SYMBOL_LENGTH,
    FINAL_ORDER_STATUSES,
    BrokerOrder,
    Fill,
    FundsSegment,
    Holding,
    Instrument,
    OrderChange,
    OrderRequest,
    OrderStatus,
    Position,
    SegmentFunds,
)

IST = ZoneInfo("Asia/Kolkata")
# Kite access tokens stay valid until 06:00 IST the next morning.
SESSION_RESET = time(6, 0)


def session_expiry(login_time: datetime | None, *, now: datetime) -> datetime:
    """The first 06:00 IST after the login."""
    if login_time is None:
        login_time = now
    if login_time.tzinfo is None:
        login_time = login_time.replace(tzinfo=IST)
    local = login_time.astimezone(IST)
    reset = datetime.combine(local.date(), SESSION_RESET, tzinfo=IST)
    return reset if local < reset else reset + timedelta(days=1)


def session_from_wire(payload: dict[str, Any]) -> dict[str, str]:
    """What to keep (encrypted) to resume a Kite session in any process."""
    return {
        "access_token": payload["access_token"],
        "public_token": payload.get("public_token") or "",
        "refresh_token": payload.get("refresh_token") or "",
    }


def account_id_from_wire(payload: dict[str, Any]) -> str:
    return str(payload["user_id"]).upper()


def profile_from_wire(payload: dict[str, Any]) -> dict[str, str]:
    return {
        "user_name": payload.get("user_name") or "",
        "email": payload.get("email") or "",
    }


def login_time_from_wire(payload: dict[str, Any]) -> datetime | None:
    value = payload.get("login_time")
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    return None


# Kite already names exchanges and products the way BudhiTrade does, so each
# map is the identity; it exists to refuse a value we have not seen.
EXCHANGES = {name: name for name in ("NSE", "BSE", "NFO", "BFO", "CDS", "BCD", "MCX")}
PRODUCTS = {name: name for name in ("CNC", "MIS", "NRML", "MTF", "CO", "BO")}
EXCHANGE_TO_WIRE = {domain: wire for wire, domain in EXCHANGES.items()}
PRODUCT_TO_WIRE = {domain: wire for wire, domain in PRODUCTS.items()}
FUNDS_SEGMENTS = {"equity": FundsSegment.EQUITY, "commodity": FundsSegment.COMMODITY}
AVAILABLE_KEYS = ("cash", "intraday_payin", "collateral", "live_balance", "opening_balance", "adhoc_margin")
UTILISED_KEYS = (
    "debits", "exposure", "m2m_realised", "m2m_unrealised", "option_premium", "span",
    "holding_sales", "turnover", "payout", "liquid_collateral", "stock_collateral", "delivery",
)


def _money(value: Any) -> Decimal:
    """Kite sends floats (or null for an amount it does not have)."""
    return Decimal(str(value if value is not None else 0))


def _lookup(table: Mapping[str, str], value: Any, what: str) -> str:
    try:
        return table[value]
    except KeyError:
        raise BrokerError(f"Zerodha sent an unknown {what}: {value!r}.") from None


def exchange_from_wire(value: Any) -> str:
    return _lookup(EXCHANGES, value, "exchange")


def exchange_to_wire(value: str) -> str:
    return _lookup(EXCHANGE_TO_WIRE, value, "exchange")


def product_from_wire(value: Any) -> str:
    return _lookup(PRODUCTS, value, "product")


def product_to_wire(value: str) -> str:
    return _lookup(PRODUCT_TO_WIRE, value, "product")


def holdings_from_wire(rows: list[dict[str, Any]] | None) -> list[Holding]:
    """GET /portfolio/holdings rows; `day_change` is Kite's per-share change since the last close."""
    return [
        Holding(
            tradingsymbol=row["tradingsymbol"],
            exchange=exchange_from_wire(row["exchange"]),
            isin=row.get("isin") or "",
            quantity=int(row["quantity"]),
            average_price=_money(row["average_price"]),
            last_price=_money(row["last_price"]),
            close_price=_money(row.get("close_price")),
            pnl=_money(row.get("pnl")),
            day_change=_money(row.get("day_change")),
            product=product_from_wire(row["product"]),
            collateral_quantity=int(row.get("collateral_quantity") or 0),
            collateral_type=row.get("collateral_type") or "",
        )
        for row in rows or []
    ]


def positions_from_wire(payload: dict[str, Any] | None) -> list[Position]:
    """GET /portfolio/positions "net" rows (the "day" list is today's trades only).

    Kite's `m2m` is the day's mark-to-market (overnight legs valued at the
    previous close), so it is both `m2m` and `day_pnl`; `pnl` is against
    the actual cost.
    """
    rows = (payload or {}).get("net") or []
    return [
        Position(
            tradingsymbol=row["tradingsymbol"],
            exchange=exchange_from_wire(row["exchange"]),
            product=product_from_wire(row["product"]),
            quantity=int(row["quantity"]),
            average_price=_money(row["average_price"]),
            last_price=_money(row["last_price"]),
            close_price=_money(row.get("close_price")),
            pnl=_money(row.get("pnl")),
            m2m=_money(row.get("m2m")),
            day_pnl=_money(row.get("m2m")),
            value=_money(row.get("value")),
            buy_quantity=int(row.get("buy_quantity") or 0),
            buy_price=_money(row.get("buy_price")),
            sell_quantity=int(row.get("sell_quantity") or 0),
            sell_price=_money(row.get("sell_price")),
            overnight_quantity=int(row.get("overnight_quantity") or 0),
            instrument_token=str(row.get("instrument_token") or ""),
        )
        for row in rows
    ]


def funds_from_wire(payload: dict[str, Any] | None) -> list[SegmentFunds]:
    """GET /user/margins: one SegmentFunds per segment Kite answers for."""
    funds = []
    for wire_segment, segment in FUNDS_SEGMENTS.items():
        margins = (payload or {}).get(wire_segment)
        if not margins:
            continue
        available = margins.get("available") or {}
        utilised = margins.get("utilised") or {}
        funds.append(
            SegmentFunds(
                segment=segment,
                enabled=bool(margins.get("enabled")),
                net=_money(margins.get("net")),
                available={key: _money(available.get(key)) for key in AVAILABLE_KEYS},
                utilised={key: _money(utilised.get(key)) for key in UTILISED_KEYS},
            )
        )
    return funds


# --- Orders -----------------------------------------------------------------------------------

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
ORDER_STATUSES = {
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
}
# Every variety Kite reports (orders placed in Kite's own apps show up too);
# BudhiTrade places, modifies and cancels only regular orders and AMOs.
VARIETIES = {name: name for name in ("regular", "amo", "co", "iceberg", "auction")}
VARIETY_TO_WIRE = {"regular": "regular", "amo": "amo"}
TRANSACTION_TYPES = {"BUY": "BUY", "SELL": "SELL"}
ORDER_TYPES = {name: name for name in ("MARKET", "LIMIT", "SL", "SL-M")}
VALIDITIES = {name: name for name in ("DAY", "IOC", "TTL")}
TRANSACTION_TYPE_TO_WIRE = dict(TRANSACTION_TYPES)
ORDER_TYPE_TO_WIRE = dict(ORDER_TYPES)
VALIDITY_TO_WIRE = {"DAY": "DAY", "IOC": "IOC"}
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def _refuse_unknown(table: Mapping[str, str], value: Any, what: str) -> str:
    """An order value Kite does not take is the order's fault, not the broker's: a rejection."""
    try:
        return table[value]
    except KeyError:
        raise BrokerOrderRejected(f"Zerodha does not take {what} {value!r}.") from None


def variety_to_wire(value: str) -> str:
    return _refuse_unknown(VARIETY_TO_WIRE, value, "the order variety")


def order_status_from_wire(value: Any) -> OrderStatus:
    try:
        return ORDER_STATUSES[value]
    except KeyError:
        raise BrokerError(f"Zerodha sent an unknown order status: {value!r}.") from None


def timestamp_from_wire(value: Any) -> datetime | None:
    """Kite's IST wall-clock time as an aware datetime.

    kiteconnect already turns "YYYY-MM-DD HH:MM:SS" into a naive datetime for
    the order and trade books, so both the string and the naive value are read
    as IST; null (an order the exchange never saw) is None.
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


def _price_to_wire(value: Decimal) -> str:
    """Rupees as plain digits for the form body (never "1E+3")."""
    return format(value, "f")


def order_to_wire(order: OrderRequest) -> dict[str, Any]:
    """POST /orders/:variety form fields; optional ones only when the order has them."""
    params: dict[str, Any] = {
        "variety": variety_to_wire(order.variety),
        "tradingsymbol": order.tradingsymbol,
        "exchange": _refuse_unknown(EXCHANGE_TO_WIRE, order.exchange, "the exchange"),
        "transaction_type": _refuse_unknown(TRANSACTION_TYPE_TO_WIRE, order.transaction_type, "the transaction type"),
        "quantity": order.quantity,
        "product": _refuse_unknown(PRODUCT_TO_WIRE, order.product, "the product"),
        "order_type": _refuse_unknown(ORDER_TYPE_TO_WIRE, order.order_type, "the order type"),
        "validity": _refuse_unknown(VALIDITY_TO_WIRE, order.validity, "the validity"),
    }
    if order.price is not None:
        params["price"] = _price_to_wire(order.price)
    if order.trigger_price is not None:
        params["trigger_price"] = _price_to_wire(order.trigger_price)
    if order.disclosed_quantity:
        params["disclosed_quantity"] = order.disclosed_quantity
    if order.tag:
        # Kite keeps up to 20 alphanumeric characters and refuses anything else itself.
        params["tag"] = order.tag
    return params


def order_change_to_wire(change: OrderChange) -> dict[str, Any]:
    """PUT /orders/:variety/:order_id form fields: only what changes."""
    params: dict[str, Any] = {}
    if change.quantity is not None:
        params["quantity"] = change.quantity
    if change.price is not None:
        params["price"] = _price_to_wire(change.price)
    if change.trigger_price is not None:
        params["trigger_price"] = _price_to_wire(change.trigger_price)
    if change.order_type is not None:
        params["order_type"] = _refuse_unknown(ORDER_TYPE_TO_WIRE, change.order_type, "the order type")
    if change.validity is not None:
        params["validity"] = _refuse_unknown(VALIDITY_TO_WIRE, change.validity, "the validity")
    if not params:
        raise BrokerOrderRejected("The modification changes nothing.")
    return params


def order_from_wire(row: dict[str, Any]) -> BrokerOrder:
    """One row of GET /orders or GET /orders/:order_id.

    Kite keeps the unfilled quantity in `pending_quantity` after an order is
    cancelled; a final order has nothing left pending, so it is 0 there.
    """
    status = order_status_from_wire(row["status"])
    return BrokerOrder(
        broker_order_id=str(row["order_id"]),
        status=status,
        tradingsymbol=row["tradingsymbol"],
        exchange=exchange_from_wire(row["exchange"]),
        transaction_type=_lookup(TRANSACTION_TYPES, row["transaction_type"], "transaction type"),
        order_type=_lookup(ORDER_TYPES, row["order_type"], "order type"),
        product=product_from_wire(row["product"]),
        quantity=int(row["quantity"]),
        filled_quantity=int(row.get("filled_quantity") or 0),
        pending_quantity=0 if status in FINAL_ORDER_STATUSES else int(row.get("pending_quantity") or 0),
        price=_money(row.get("price")),
        trigger_price=_money(row.get("trigger_price")),
        average_price=_money(row.get("average_price")),
        status_message=row.get("status_message") or "",
        tag=row.get("tag") or "",
        exchange_order_id=str(row.get("exchange_order_id") or ""),
        variety=_lookup(VARIETIES, row["variety"], "order variety"),
        validity=_lookup(VALIDITIES, row["validity"], "validity"),
        order_timestamp=timestamp_from_wire(row.get("order_timestamp")),
        exchange_timestamp=timestamp_from_wire(row.get("exchange_timestamp")),
    )


def orders_from_wire(rows: list[dict[str, Any]] | None) -> list[BrokerOrder]:
    """GET /orders (the day's book) or GET /orders/:order_id (one order's states, oldest first)."""
    return [order_from_wire(row) for row in rows or []]


def fills_from_wire(rows: list[dict[str, Any]] | None) -> list[Fill]:
    """GET /trades rows; a trade's `average_price` is the price of that one fill."""
    return [
        Fill(
            trade_id=str(row["trade_id"]),
            broker_order_id=str(row["order_id"]),
            tradingsymbol=row["tradingsymbol"],
            exchange=exchange_from_wire(row["exchange"]),
            transaction_type=_lookup(TRANSACTION_TYPES, row["transaction_type"], "transaction type"),
            product=product_from_wire(row["product"]),
            quantity=int(row["quantity"]),
            price=_money(row["average_price"]),
            exchange_order_id=str(row.get("exchange_order_id") or ""),
            fill_timestamp=timestamp_from_wire(row.get("fill_timestamp")),
        )
        for row in rows or []
    ]


def postback_checksum_ok(payload: Mapping[str, Any], *, api_secret: str) -> bool:
    """Kite signs each postback: checksum = SHA-256(order_id + order_timestamp + api_secret), hex."""
    if not api_secret or not isinstance(payload.get("checksum"), str):
        return False
    expected = hashlib.sha256(f"{payload.get('order_id', '')}{payload.get('order_timestamp', '')}{api_secret}".encode()).hexdigest()
    return hmac.compare_digest(expected, payload["checksum"])


# --- The instrument master: GET /instruments --------------------------------------------------

# The exchanges BudhiTrade trades; Kite's currency and other segments are left out of the master.
INSTRUMENT_EXCHANGES = ("NSE", "BSE", "NFO", "BFO", "MCX")
INSTRUMENT_TYPES = {"EQ": "EQ", "FUT": "FUT", "CE": "CE", "PE": "PE"}


def instruments_from_wire(rows: list[dict[str, Any]]) -> list[Instrument]:
    """kiteconnect's parsed /instruments CSV: one row per instrument, indices under segment INDICES."""
    listed = []
    for row in rows:
        if row.get("exchange") not in INSTRUMENT_EXCHANGES:
            continue
        if row.get("segment") == "INDICES":
            kind = "INDEX"
        elif row.get("instrument_type") in INSTRUMENT_TYPES:
            kind = INSTRUMENT_TYPES[row["instrument_type"]]
        else:
            continue
        expiry = row.get("expiry")
        symbol = str(row["tradingsymbol"])
        if len(symbol) > INSTRUMENT_SYMBOL_LENGTH:
            continue
        listed.append(Instrument(
            exchange=row["exchange"], tradingsymbol=symbol, token=str(row["instrument_token"]),
            name=str(row.get("name") or "")[:INSTRUMENT_NAME_LENGTH], instrument_type=kind, lot_size=int(row["lot_size"]) or 1,
            tick_size=Decimal(str(row["tick_size"])), expiry=expiry if hasattr(expiry, "year") else None,
            strike=Decimal(str(row.get("strike") or 0)),
        ))
    return listed
