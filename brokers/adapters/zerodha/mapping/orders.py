"""Kite's order forms, order and trade books and postbacks as BudhiTrade's order types."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from brokers.adapters.base import BrokerOrderRejected
from brokers.adapters.zerodha.mapping.values import (
    EXCHANGES,
    ORDER_STATUSES,
    ORDER_TYPES,
    PRODUCTS,
    TRANSACTION_TYPES,
    VALIDITIES,
    VARIETIES,
    count,
    count_or_none,
    money,
    timestamp_from_wire,
)
from brokers.domain import FINAL_ORDER_STATUSES, BrokerOrder, Fill, OrderChange, OrderRequest, OrderStatus

# Kite's postbacks add one status its books never show: UPDATE, for a partial
# fill or a modification of an order that is still working.
POSTBACK_UPDATE = "UPDATE"


def variety_to_wire(value: str) -> str:
    return VARIETIES.to_wire(value)


def _price_to_wire(value: Decimal) -> str:
    """Rupees as plain digits for the form body (never "1E+3")."""
    return format(value, "f")


def order_to_wire(order: OrderRequest) -> dict[str, Any]:
    """POST /orders/:variety form fields; optional ones only when the order has them."""
    params: dict[str, Any] = {
        "variety": VARIETIES.to_wire(order.variety),
        "tradingsymbol": order.tradingsymbol,
        "exchange": EXCHANGES.to_wire(order.exchange),
        "transaction_type": TRANSACTION_TYPES.to_wire(order.transaction_type),
        "quantity": order.quantity,
        "product": PRODUCTS.to_wire(order.product),
        "order_type": ORDER_TYPES.to_wire(order.order_type),
        "validity": VALIDITIES.to_wire(order.validity),
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
        params["order_type"] = ORDER_TYPES.to_wire(change.order_type)
    if change.validity is not None:
        params["validity"] = VALIDITIES.to_wire(change.validity)
    if not params:
        raise BrokerOrderRejected("The modification changes nothing.")
    return params


def order_from_wire(row: Mapping[str, Any], *, status: OrderStatus | str | None = None) -> BrokerOrder:
    """One row of GET /orders or GET /orders/:order_id, or a postback.

    Kite leaves a finished order's unfilled quantity in `pending_quantity`
    (a cancelled one, and sometimes without counting it in
    `cancelled_quantity`): nothing is pending on a finished order, so pending
    is 0 there and a cancelled order's unfilled quantity is its
    `cancelled_quantity`, never lost. A status BudhiTrade cannot name yet
    stays Kite's own string. `validity_ttl` (minutes) only means something
    for a TTL order.
    """
    validity = VALIDITIES.from_wire(row["validity"])
    status = status if status is not None else ORDER_STATUSES.from_wire(row["status"])
    quantity, filled = int(row["quantity"]), count(row.get("filled_quantity"))
    pending, cancelled = count(row.get("pending_quantity")), count(row.get("cancelled_quantity"))
    if status in FINAL_ORDER_STATUSES:
        if status == OrderStatus.CANCELLED:
            cancelled = max(cancelled, quantity - filled)
        pending = 0
    return BrokerOrder(
        broker_order_id=str(row["order_id"]),
        status=status,
        tradingsymbol=row["tradingsymbol"],
        exchange=EXCHANGES.from_wire(row["exchange"]),
        transaction_type=TRANSACTION_TYPES.from_wire(row["transaction_type"]),
        order_type=ORDER_TYPES.from_wire(row["order_type"]),
        product=PRODUCTS.from_wire(row["product"]),
        quantity=quantity,
        filled_quantity=filled,
        pending_quantity=pending,
        price=money(row.get("price")),
        trigger_price=money(row.get("trigger_price")),
        average_price=money(row.get("average_price")),
        status_message=row.get("status_message") or "",
        tag=row.get("tag") or "",
        exchange_order_id=str(row.get("exchange_order_id") or ""),
        variety=VARIETIES.from_wire(row["variety"]),
        validity=validity,
        order_timestamp=timestamp_from_wire(row.get("order_timestamp")),
        exchange_timestamp=timestamp_from_wire(row.get("exchange_timestamp")),
        cancelled_quantity=cancelled,
        disclosed_quantity=count(row.get("disclosed_quantity")),
        validity_ttl=count_or_none(row.get("validity_ttl")) if validity == "TTL" else None,
        exchange_update_timestamp=timestamp_from_wire(row.get("exchange_update_timestamp")),
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
            exchange=EXCHANGES.from_wire(row["exchange"]),
            transaction_type=TRANSACTION_TYPES.from_wire(row["transaction_type"]),
            product=PRODUCTS.from_wire(row["product"]),
            quantity=int(row["quantity"]),
            price=money(row["average_price"]),
            exchange_order_id=str(row.get("exchange_order_id") or ""),
            fill_timestamp=timestamp_from_wire(row.get("fill_timestamp")),
            exchange_timestamp=timestamp_from_wire(row.get("exchange_timestamp")),
        )
        for row in rows or []
    ]


# --- Postbacks ---------------------------------------------------------------------------------

def postback_checksum_ok(payload: Mapping[str, Any], *, api_secret: str) -> bool:
    """Kite signs each postback: checksum = SHA-256(order_id + order_timestamp + api_secret), hex."""
    if not api_secret or not isinstance(payload.get("checksum"), str):
        return False
    expected = hashlib.sha256(f"{payload.get('order_id', '')}{payload.get('order_timestamp', '')}{api_secret}".encode()).hexdigest()
    return hmac.compare_digest(expected, payload["checksum"])


def order_from_postback(payload: Mapping[str, Any]) -> BrokerOrder:
    """A postback as the order's state.

    COMPLETE, CANCELLED and REJECTED postbacks carry a book status. UPDATE
    (a partial fill or a modification) says the order is still working, with
    its filled and pending quantities and average price as they now stand:
    COMPLETE once everything is filled; a stop-loss order with nothing filled
    is still waiting for its trigger (a modification of it); else OPEN.
    """
    if payload.get("status") != POSTBACK_UPDATE:
        return order_from_wire(payload)
    quantity, filled = int(payload["quantity"]), count(payload.get("filled_quantity"))
    if quantity and filled >= quantity:
        status = OrderStatus.COMPLETE
    elif not filled and payload.get("order_type") in ("SL", "SL-M"):
        status = OrderStatus.TRIGGER_PENDING
    else:
        status = OrderStatus.OPEN
    return order_from_wire(payload, status=status)
