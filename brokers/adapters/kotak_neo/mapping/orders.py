"""Kotak Neo orders both ways: what NeoAPI's order calls take, and the order book, history, trades and feed.

Two directions, two kinds of refusal. A BudhiTrade value Kotak does not take
is the order's fault: BrokerOrderRejected (400), and nothing is sent. A Kotak
value BudhiTrade cannot name yet stays raw in its row, and the rest of the
book comes through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from brokers.adapters.base import BrokerError, BrokerOrderRejected
from brokers.adapters.kotak_neo.mapping.answers import rows
from brokers.adapters.kotak_neo.mapping.codes import (
    EXCHANGES,
    PRODUCTS,
    epoch_from_wire,
    exchange_from_wire,
    money,
    product_from_wire,
    quantity,
    text,
    timestamp_from_wire,
    wire_number,
)
from brokers.adapters.wiremap import WireMap
from brokers.domain import (
    FINAL_ORDER_STATUSES,
    Broker,
    BrokerOrder,
    Fill,
    OrderChange,
    OrderProgress,
    OrderRequest,
    OrderStatus,
)

# Exchanges an order can go to (NeoAPI.place_order takes these five segments;
# currency, cde_fo, it refuses). Reading still names every segment Neo sends.
ORDER_EXCHANGES = WireMap(Broker.KOTAK_NEO, "the exchange", EXCHANGES.table, writes={
    "NSE": "nse_cm", "NFO": "nse_fo", "BSE": "bse_cm", "BFO": "bse_fo", "MCX": "mcx_fo",
})
ORDER_TYPES = WireMap(Broker.KOTAK_NEO, "the order type", {"L": "LIMIT", "MKT": "MARKET", "SL": "SL", "SL-M": "SL-M"})
TRANSACTION_TYPES = WireMap(Broker.KOTAK_NEO, "the transaction type", {"B": "BUY", "S": "SELL"})
# BudhiTrade places CNC, MIS and NRML; the book may also show MTF, CO or BO
# orders placed in Kotak's own apps, which PRODUCTS reads.
ORDER_PRODUCTS = WireMap(Broker.KOTAK_NEO, "the product", PRODUCTS.table,
                         writes={name: name for name in ("CNC", "MIS", "NRML")})
# DAY and IOC are what BudhiTrade sends (and all NeoAPI.place_order takes);
# GTC, EOS and GTD are Kotak validities an order placed elsewhere may carry.
VALIDITIES = WireMap(Broker.KOTAK_NEO, "the validity", {name: name for name in ("DAY", "IOC", "GTC", "EOS", "GTD")},
                     writes={"DAY": "DAY", "IOC": "IOC"})
# The variety is Kotak's "am" flag (after-market order).
VARIETIES = WireMap(Broker.KOTAK_NEO, "the order variety", {"NO": "regular", "YES": "amo"})

# Neo's order statuses (`ordSt`), lower case as Neo sends them. Kotak's order
# book runs on the same OMS as other Indian brokers' (Kite's and Upstox's
# published status lists); the recorded history shows "put order req
# received" -> "validation pending" -> "open pending" -> "open" -> "complete".
# The in-flight ones fold into BudhiTrade's statuses as the Zerodha adapter's do:
# - a new order Kotak holds but the exchange has not taken yet (received, RMS
#   validation, registration at the exchange) is PENDING: it may still be
#   rejected, and it settles within moments;
# - an after-market order waiting for the open is OPEN: accepted, modifiable
#   and cancellable, resting for hours;
# - an order whose modification or cancellation is on its way, or was refused
#   ("not modified", "not cancelled"), is still OPEN: it can fill until the
#   exchange confirms the change. (A stop order still waiting for its trigger
#   shows OPEN while its modification is in flight; the next read settles it.)
# A status not listed here stays Kotak's own string in BrokerOrder.status.
ORDER_STATUSES = WireMap(Broker.KOTAK_NEO, "order status", {
    "open": OrderStatus.OPEN,
    "complete": OrderStatus.COMPLETE,
    "cancelled": OrderStatus.CANCELLED,
    "rejected": OrderStatus.REJECTED,
    "trigger pending": OrderStatus.TRIGGER_PENDING,
    "put order req received": OrderStatus.PENDING,
    "validation pending": OrderStatus.PENDING,
    "open pending": OrderStatus.PENDING,
    "after market order req received": OrderStatus.OPEN,
    "modify after market order req received": OrderStatus.OPEN,
    "cancelled after market order": OrderStatus.CANCELLED,
    "modify validation pending": OrderStatus.OPEN,
    "modify pending": OrderStatus.OPEN,
    "modified": OrderStatus.OPEN,
    "not modified": OrderStatus.OPEN,
    "cancel pending": OrderStatus.OPEN,
    "not cancelled": OrderStatus.OPEN,
})
# Neo's book has no variety field; an after-market order shows in its status.
AMO_STATUSES = frozenset(
    {"after market order req received", "modify after market order req received", "cancelled after market order"}
)


def order_status_from_wire(value: Any) -> str:
    """BudhiTrade's status for Neo's `ordSt`, or Neo's own (lower-case) status where it has none."""
    return ORDER_STATUSES.from_wire(value.strip().lower() if isinstance(value, str) else value)


def variety_to_wire(variety: str) -> str:
    """Kotak's `am` flag for a BudhiTrade variety."""
    return VARIETIES.to_wire(variety)


def order_to_wire(order: OrderRequest) -> dict[str, str | None]:
    """NeoAPI.place_order's arguments, which it sends as jData es/pc/pr/pt/qt/rt/ts/tt/am/dq/tp/ig.

    The tag goes through as Kotak's `ig` (echoed back as GuiOrdId); Kotak
    refuses a tag it has already seen that day ("Client OrderID already
    exists"), so tags must be unique. No tag is None: the SDK refuses a blank one.
    """
    return {
        "exchange_segment": ORDER_EXCHANGES.to_wire(order.exchange),
        "product": ORDER_PRODUCTS.to_wire(order.product),
        "price": wire_number(order.price),
        "order_type": ORDER_TYPES.to_wire(order.order_type),
        "quantity": str(order.quantity),
        "validity": VALIDITIES.to_wire(order.validity),
        "trading_symbol": order.tradingsymbol,
        "transaction_type": TRANSACTION_TYPES.to_wire(order.transaction_type),
        "amo": variety_to_wire(order.variety),
        "disclosed_quantity": str(order.disclosed_quantity),
        "trigger_price": wire_number(order.trigger_price),
        "tag": order.tag or None,
    }


def order_row(payload: Any, broker_order_id: str) -> dict[str, Any]:
    """One order's row in a GET quick/user/orders answer; refused if the day's book does not have it."""
    for row in rows(payload):
        if str(row.get("nOrdNo")) == broker_order_id:
            return row
    raise BrokerOrderRejected(f"Kotak Neo has no order {broker_order_id} in today's order book.")


def order_change_to_wire(
    broker_order_id: str, change: OrderChange, current: Mapping[str, Any], *, variety: str
) -> dict[str, str]:
    """NeoAPI.modify_order's arguments (jData no/pr/pt/qt/vd/tp/dq/am).

    Kotak's modify takes the whole order, not just what changes, so the rest
    comes from the order's row in the book (`current`). A change to a market
    type without a price sends 0; a trigger price stays only on stop orders.
    """
    order_type = change.order_type or ORDER_TYPES.from_wire(current.get("prcTp"))
    order_type_wire = ORDER_TYPES.to_wire(order_type)
    if change.price is not None:
        price = change.price
    elif order_type in ("MARKET", "SL-M"):
        price = None
    else:
        price = money(current.get("prc"))
    if change.trigger_price is not None:
        trigger_price = change.trigger_price
    elif order_type in ("SL", "SL-M"):
        trigger_price = money(current.get("trgPrc"))
    else:
        trigger_price = None
    ordered = change.quantity if change.quantity is not None else quantity(current.get("qty"))
    return {
        "order_id": broker_order_id,
        "price": wire_number(price),
        "order_type": order_type_wire,
        "quantity": str(ordered),
        "validity": VALIDITIES.to_wire(change.validity or current.get("vldt")),
        "trigger_price": wire_number(trigger_price),
        "disclosed_quantity": str(quantity(current.get("dscQty"))),
        "amo": variety_to_wire(variety),
    }


def order_id_from_wire(payload: Any, *, fallback: str = "") -> str:
    """`nOrdNo` of a place, modify or cancel answer.

    A placed order without a number cannot be followed, so that raises; a
    modify or cancel Kotak accepted keeps the number it was sent for.
    """
    order_id = text(payload.get("nOrdNo")) if isinstance(payload, dict) else ""
    if order_id:
        return order_id
    if fallback:
        return fallback
    raise BrokerError("Kotak Neo accepted the order but sent no order number.")


@dataclass(frozen=True)
class _OrderKeys:
    """The keys that differ between the order book's rows and the order history's."""

    exchange_order_id: str
    validity: str
    order_timestamp: str
    exchange_timestamp: str
    disclosed_quantity: str


# The book's `ordDtTm` is when the order was entered, `exCfmTm` when the
# exchange confirmed it. A history row is one state: `flDtTm` is that state's
# time, `exchTmstp` the exchange's.
BOOK_KEYS = _OrderKeys("exOrdId", "vldt", "ordDtTm", "exCfmTm", "dscQty")
HISTORY_KEYS = _OrderKeys("exchOrdId", "ordDur", "flDtTm", "exchTmstp", "dclQty")


def _cancelled(row: Mapping[str, Any], status: str) -> int:
    """Kotak's cancelled quantity (`cnlQty`); a cancelled order without one lost what it had unfilled."""
    cancelled = quantity(row.get("cnlQty"))
    if not cancelled and status == OrderStatus.CANCELLED:
        cancelled = quantity(row.get("unFldSz"))
    return cancelled


def _pending(row: Mapping[str, Any], status: str) -> int:
    """Neo keeps the unfilled quantity (`unFldSz`) on a final order; nothing is pending on one."""
    return 0 if status in FINAL_ORDER_STATUSES else quantity(row.get("unFldSz"))


def _order_from_row(row: Mapping[str, Any], keys: _OrderKeys) -> BrokerOrder:
    """One order row. `boeSec` is the exchange's last broadcast of the order, once the exchange has it."""
    wire_status = str(row.get("ordSt") or "").strip().lower()
    status = order_status_from_wire(wire_status)
    exchange_order_id = text(row.get(keys.exchange_order_id))
    return BrokerOrder(
        broker_order_id=str(row["nOrdNo"]),
        status=status,
        tradingsymbol=row.get("trdSym") or "",
        exchange=exchange_from_wire(row.get("exSeg")),
        transaction_type=TRANSACTION_TYPES.from_wire(row.get("trnsTp")),
        order_type=ORDER_TYPES.from_wire(row.get("prcTp")),
        product=product_from_wire(row.get("prod")),
        quantity=quantity(row.get("qty")),
        filled_quantity=quantity(row.get("fldQty")),
        pending_quantity=_pending(row, status),
        price=money(row.get("prc")),
        trigger_price=money(row.get("trgPrc")),
        average_price=money(row.get("avgPrc")),
        status_message=text(row.get("rejRsn")),
        tag=text(row.get("GuiOrdId")),
        exchange_order_id=exchange_order_id,
        variety="amo" if wire_status in AMO_STATUSES else "regular",
        validity=VALIDITIES.from_wire(row.get(keys.validity)),
        order_timestamp=timestamp_from_wire(row.get(keys.order_timestamp)),
        exchange_timestamp=timestamp_from_wire(row.get(keys.exchange_timestamp)),
        cancelled_quantity=_cancelled(row, status),
        disclosed_quantity=quantity(row.get(keys.disclosed_quantity)),
        exchange_update_timestamp=epoch_from_wire(row.get("boeSec")) if exchange_order_id else None,
    )


def orders_from_wire(payload: Any) -> list[BrokerOrder]:
    """GET quick/user/orders: the day's book, each order at its latest state."""
    return [_order_from_row(row, BOOK_KEYS) for row in rows(payload)]


def order_history_from_wire(payload: Any) -> list[BrokerOrder]:
    """POST quick/order/history (the answer inside the SDK's wrapper): one order's states, oldest first.

    Neo lists them newest first ("complete" above "put order req received" in
    the SDK docs' sample), so the list is reversed. `updRecvTm` is not the
    state's time (it grows down Neo's list), so it cannot be sorted on.
    """
    return [_order_from_row(row, HISTORY_KEYS) for row in reversed(rows(payload))]


def fills_from_wire(payload: Any) -> list[Fill]:
    """GET quick/user/trades: one Fill per row.

    A row's `avgPrc` is the price of that fill (its `prc` is blank), `flId`
    the exchange's trade id, `flDt` + `flTm` when Kotak recorded the fill and
    `exTm` the exchange's time.
    """
    fills = []
    for row in rows(payload):
        filled_on, filled_at = text(row.get("flDt")), text(row.get("flTm"))
        fills.append(
            Fill(
                trade_id=str(row["flId"]),
                broker_order_id=str(row["nOrdNo"]),
                tradingsymbol=row.get("trdSym") or "",
                exchange=exchange_from_wire(row.get("exSeg")),
                transaction_type=TRANSACTION_TYPES.from_wire(row.get("trnsTp")),
                product=product_from_wire(row.get("prod")),
                quantity=quantity(row.get("fldQty")),
                price=money(row.get("avgPrc")),
                exchange_order_id=text(row.get("exOrdId")),
                fill_timestamp=timestamp_from_wire(f"{filled_on} {filled_at}") if filled_on and filled_at else None,
                exchange_timestamp=timestamp_from_wire(row.get("exTm")),
            )
        )
    return fills


def order_progress_from_feed(data: Mapping[str, Any]) -> OrderProgress:
    """One `order` frame of the order feed (nOrdNo, ordSt, fldQty, unFldSz, avgPrc, exOrdId, cnlQty)."""
    status = order_status_from_wire(data.get("ordSt"))
    return OrderProgress(
        broker_order_id=str(data["nOrdNo"]),
        status=status,
        filled_quantity=quantity(data.get("fldQty")),
        pending_quantity=_pending(data, status),
        average_price=money(data.get("avgPrc")),
        exchange_order_id=text(data.get("exOrdId")),
        status_message=text(data.get("rejRsn")),
        cancelled_quantity=_cancelled(data, status),
    )

