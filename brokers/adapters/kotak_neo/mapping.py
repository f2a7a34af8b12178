"""Kotak Neo wire formats to BudhiTrade types: the only module that knows Neo's keys."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any

import jwt

from brokers.adapters.base import BrokerError, BrokerOrderRejected
from brokers.calendar import IST
from brokers.domain import (
    INSTRUMENT_NAME_LENGTH,
    INSTRUMENT_SYMBOL_LENGTH,
    Instrument,
    FINAL_ORDER_STATUSES,
    BrokerOrder,
    Fill,
    FundsSegment,
    Holding,
    Limits,
    LimitsExchange,
    LimitsProduct,
    LimitsSegment,
    OrderChange,
    OrderProgress,
    OrderRequest,
    OrderStatus,
    Position,
    SegmentFunds,
)

SESSION_ERROR_TEXT = "Complete the 2fa process"


def is_success(payload: Any) -> bool:
    """A Neo answer that carries data and no error marker."""
    if not isinstance(payload, dict):
        return False
    if any(key in payload for key in ("error", "Error", "Error Message", "errMsg", "fault")):
        return False
    stat = str(payload.get("stat", "")).lower()
    if stat == "not_ok":
        return False
    return stat == "ok" or "data" in payload


def error_message(payload: Any) -> str:
    """The broker's own sentence for a failed answer."""
    if not isinstance(payload, dict):
        return "unexpected answer"
    errors = payload.get("error")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict):
            return str(first.get("message") or first.get("code") or "error")
        return str(first)
    for key in ("Error Message", "errMsg", "message", "emsg"):
        if payload.get(key):
            return str(payload[key])
    if "Error" in payload:
        value = payload["Error"]
        return str(getattr(value, "reason", None) or value)
    fault = payload.get("fault")
    if isinstance(fault, dict):
        return str(fault.get("message") or fault.get("description") or "error")
    data = payload.get("data")
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return "unexpected answer"


SESSION_ERROR_CODES = {100022}
# What Neo says instead of an empty list: {"stat":"Not_Ok","stCode":5203,"errMsg":"No Data"}.
NO_DATA_CODES = {5203}
NO_DATA_TEXT = "no data"


def is_no_data(payload: Any) -> bool:
    """Neo's answer for an empty book: a "Not_Ok" body that only says there is nothing to list."""
    if not isinstance(payload, dict) or is_session_error(payload):
        return False
    if "error" in payload or "fault" in payload or "Error" in payload:
        return False
    return payload.get("stCode") in NO_DATA_CODES or error_message(payload).strip().lower() == NO_DATA_TEXT


def is_session_error(payload: Any) -> bool:
    """The SDK's "no trade session" answer, or Kotak's invalid-session body.

    The SDK docs' error tables give 403 "Invalid session, please re-login to
    continue"; that sentence may come under any of Neo's message keys.
    """
    if not isinstance(payload, dict):
        return False
    if SESSION_ERROR_TEXT in str(payload.get("Error Message", "")):
        return True
    return payload.get("stCode") in SESSION_ERROR_CODES or "invalid session" in error_message(payload).lower()


def login_data(payload: dict[str, Any]) -> dict[str, Any]:
    return payload.get("data") or {}


def account_id_from_login(payload: dict[str, Any], *, fallback: str) -> str:
    return str(login_data(payload).get("ucc") or fallback).upper()


def profile_from_login(payload: dict[str, Any]) -> dict[str, str]:
    data = login_data(payload)
    return {"user_name": str(data.get("greetingName") or "")}


def session_expiry(token: str | None, *, now: datetime, default_hours: int) -> datetime:
    """The trade token's own `exp` claim where it has one, else a fixed lifetime."""
    if token:
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            if claims.get("exp"):
                return datetime.fromtimestamp(int(claims["exp"]), tz=dt_timezone.utc)
        except (jwt.PyJWTError, TypeError, ValueError):
            pass
    return now + timedelta(hours=default_hours)


# Neo's exchange segments, both ways. Unknown values raise: a position on an
# exchange we cannot name must not be filed under a guessed one.
EXCHANGE_SEGMENTS = {
    "nse_cm": "NSE",
    "bse_cm": "BSE",
    "nse_fo": "NFO",
    "bse_fo": "BFO",
    "mcx_fo": "MCX",
    "cde_fo": "CDS",
}
EXCHANGE_TO_SEGMENT = {exchange: segment for segment, exchange in EXCHANGE_SEGMENTS.items()}
# Neo's product codes are BudhiTrade's own; the map refuses anything else.
PRODUCTS = {name: name for name in ("CNC", "MIS", "NRML", "MTF", "CO", "BO")}
PRODUCT_TO_WIRE = {domain: wire for wire, domain in PRODUCTS.items()}

PositionMetrics = Callable[[Mapping[str, Any], Mapping[str, Any] | None, float | None], Mapping[str, Any]]


def _lookup(table: Mapping[str, str], value: Any, what: str) -> str:
    try:
        return table[value]
    except (KeyError, TypeError):
        raise BrokerError(f"Kotak Neo sent an unknown {what}: {value!r}.") from None


def exchange_from_wire(segment: Any) -> str:
    return _lookup(EXCHANGE_SEGMENTS, segment, "exchange segment")


def exchange_to_wire(exchange: str) -> str:
    return _lookup(EXCHANGE_TO_SEGMENT, exchange, "exchange")


def product_from_wire(value: Any) -> str:
    return _lookup(PRODUCTS, value, "product")


def product_to_wire(value: str) -> str:
    return _lookup(PRODUCT_TO_WIRE, value, "product")


def _money(value: Any) -> Decimal:
    """Neo sends amounts as strings or numbers; a blank field is zero."""
    if value is None or value == "":
        return Decimal("0")
    return Decimal(str(value))


def _quantity(value: Any) -> int:
    if value is None or value == "":
        return 0
    return int(Decimal(str(value)))


def _rows(payload: Any) -> list[dict[str, Any]]:
    """The "data" list, or none at all for Neo's "No Data" answer."""
    if not isinstance(payload, dict) or is_no_data(payload):
        return []
    rows = payload.get("data") or []
    if not isinstance(rows, list):
        raise BrokerError("Kotak Neo returned an answer that could not be read.")
    return rows


def holdings_from_wire(payload: Any) -> list[Holding]:
    """GET portfolio/v1/holdings.

    Neo's `closingPrice` is the price it values the holding at
    (`mktValue` = quantity x closingPrice), so it is the last price;
    `prevDayLtp` is the previous close. Where Neo leaves `prevDayLtp` at 0
    (it does outside market hours) there is no close to compare with, so
    close_price and day_change stay 0 rather than a day change equal to the
    whole price. This response carries no ISIN.
    """
    holdings = []
    for row in _rows(payload):
        last_price = _money(row.get("closingPrice"))
        close_price = _money(row.get("prevDayLtp"))
        holdings.append(
            Holding(
                tradingsymbol=row.get("displaySymbol") or row["symbol"],
                exchange=exchange_from_wire(row.get("exchangeSegment")),
                isin="",
                quantity=_quantity(row.get("quantity")),
                average_price=_money(row.get("averagePrice")),
                last_price=last_price,
                close_price=close_price,
                pnl=_money(row.get("unrealisedGainLoss")),
                day_change=last_price - close_price if close_price else Decimal("0"),
                product="CNC",
            )
        )
    return holdings


def _is_derivative(row: Mapping[str, Any]) -> bool:
    return str(row.get("exSeg", "")).endswith("_fo")


def positions_need_holdings(payload: Any) -> bool:
    """Whether a row carries equity bought on earlier days, whose cost only holdings know."""
    return any(
        not _is_derivative(row) and _quantity(row.get("cfBuyQty")) != _quantity(row.get("cfSellQty"))
        for row in _rows(payload)
    )


def _price_factor(row: Mapping[str, Any]) -> Decimal:
    """Neo's amounts are in price units x lot multiplier; this turns them into rupees per unit."""

    def part(key: str) -> Decimal:
        value = _money(row.get(key))
        return value if value else Decimal("1")

    return part("multiplier") * (part("genNum") / part("genDen")) * (part("prcNum") / part("prcDen"))


def _average(amount: Decimal, quantity: int, factor: Decimal, precision: int) -> Decimal:
    """Amount per unit, rounded to the row's own `precision` as the SDK rounds its average."""
    if not quantity:
        return Decimal("0")
    return (amount / (quantity * factor)).quantize(Decimal(1).scaleb(-precision))


def positions_from_wire(
    payload: Any, *, metrics: PositionMetrics, holdings: Any = None
) -> list[Position]:
    """GET portfolio/v2/positions: raw fills-by-day rows to net positions.

    Net quantity, average price, P&L and MTM come from the SDK's own
    calculation (`metrics`, i.e. KotakNeoClient.position_metrics), which
    values equity carried from earlier days at its holdings cost; so
    `holdings` (a holdings answer) is needed when positions_need_holdings().
    `mtmPnl` values every carried leg at the previous close, which makes it
    the day's P&L: it is both m2m and day_pnl. `value` is Kite's convention,
    sell amount minus buy amount. Neo gives no close price here: close_price
    is the carried-forward amount per unit (previous close) where the row
    has carried quantity, else 0. A row whose P&L the SDK cannot compute (no
    LTP, no holding for carried equity) raises rather than report a wrong
    number.
    """
    by_identifier = {str(row.get("exchangeIdentifier")): row for row in _rows(holdings)}
    positions = []
    for row in _rows(payload):
        symbol = row.get("trdSym") or ""
        exchange = exchange_from_wire(row.get("exSeg"))
        product = product_from_wire(row.get("prod"))
        ltp = row.get("ltp")
        computed = metrics(
            row,
            by_identifier.get(str(row.get("tok"))),
            float(ltp) if ltp not in (None, "") else None,
        )
        if computed.get("pnlCalculationError"):
            raise BrokerError(
                f"Kotak Neo position {symbol} could not be valued: {computed['pnlCalculationError']}"
            )
        factor = _price_factor(row)
        precision = _quantity(row.get("precision")) or 2
        cf_buy_qty, cf_sell_qty = _quantity(row.get("cfBuyQty")), _quantity(row.get("cfSellQty"))
        buy_qty = cf_buy_qty + _quantity(row.get("flBuyQty"))
        sell_qty = cf_sell_qty + _quantity(row.get("flSellQty"))
        buy_amount = _money(row.get("buyAmt")) + _money(row.get("cfBuyAmt"))
        sell_amount = _money(row.get("sellAmt")) + _money(row.get("cfSellAmt"))
        overnight = cf_buy_qty - cf_sell_qty
        if overnight > 0:
            close_price = _average(_money(row.get("cfBuyAmt")), cf_buy_qty, factor, precision)
        elif overnight < 0:
            close_price = _average(_money(row.get("cfSellAmt")), cf_sell_qty, factor, precision)
        else:
            close_price = Decimal("0")
        positions.append(
            Position(
                tradingsymbol=symbol,
                exchange=exchange,
                product=product,
                quantity=int(computed["netQty"]),
                average_price=_money(computed["averagePrice"]),
                last_price=_money(ltp),
                close_price=close_price,
                pnl=_money(computed["positionPnl"]),
                m2m=_money(computed["mtmPnl"]),
                day_pnl=_money(computed["mtmPnl"]),
                value=sell_amount - buy_amount,
                buy_quantity=buy_qty,
                buy_price=_average(buy_amount, buy_qty, factor, precision),
                sell_quantity=sell_qty,
                sell_price=_average(sell_amount, sell_qty, factor, precision),
                overnight_quantity=overnight,
                instrument_token=str(row.get("tok") or ""),
            )
        )
    return positions


def funds_from_wire(payload: Mapping[str, Any]) -> list[SegmentFunds]:
    """POST quick/user/limits (seg=ALL): one equity SegmentFunds, Neo has no commodity split here.

    Field choices, from the limits sample: `Net` is what is free to trade
    (it equals CollateralValue - MarginUsed), so net and live_balance;
    `CollateralValue` is the whole limit, cash and pledged collateral
    together, and Neo sends no separate ledger-cash figure, so it is cash;
    `Collateral`, `AdhocMargin`, `NotionalCash` and `RmsPayInAmt` are the
    named parts. Utilised: `MarginUsed` is the total blocked (debits); the
    `...Prsnt` totals give span, exposure, premium and MTM across segments.
    """
    return [
        SegmentFunds(
            segment=FundsSegment.EQUITY,
            enabled=True,
            net=_money(payload.get("Net")),
            available={
                "cash": _money(payload.get("CollateralValue")),
                "intraday_payin": _money(payload.get("RmsPayInAmt")),
                "collateral": _money(payload.get("Collateral")),
                "live_balance": _money(payload.get("Net")),
                "adhoc_margin": _money(payload.get("AdhocMargin")),
                "notional_cash": _money(payload.get("NotionalCash")),
            },
            utilised={
                "debits": _money(payload.get("MarginUsed")),
                "exposure": _money(payload.get("ExposureMarginPrsnt")),
                "span": _money(payload.get("SpanMarginPrsnt")),
                "option_premium": _money(payload.get("PremiumPrsnt")),
                "m2m_realised": _money(payload.get("RealizedMtomPrsnt")),
                "m2m_unrealised": _money(payload.get("UnrealizedMtomPrsnt")),
                "delivery": _money(payload.get("DeliveryMarginPresent")),
                "payout": _money(payload.get("RmsPayOutAmt")),
            },
        )
    ]


# quick/user/limits' filters (jData seg, exch, prod) take BudhiTrade's own
# values; the maps exist to refuse anything else.
LIMITS_SEGMENTS = {value: value for value in LimitsSegment.values}
LIMITS_EXCHANGES = {value: value for value in LimitsExchange.values}
LIMITS_PRODUCTS = {value: value for value in LimitsProduct.values}


def limits_filters_to_wire(
    *, segment: LimitsSegment, exchange: LimitsExchange, product: LimitsProduct
) -> dict[str, str]:
    """The jData body of POST quick/user/limits for one filter."""
    return {
        "seg": _lookup(LIMITS_SEGMENTS, segment, "limits segment"),
        "exch": _lookup(LIMITS_EXCHANGES, exchange, "limits exchange"),
        "prod": _lookup(LIMITS_PRODUCTS, product, "limits product"),
    }


def limits_from_wire(
    payload: Mapping[str, Any], *, segment: LimitsSegment, exchange: LimitsExchange, product: LimitsProduct
) -> Limits:
    """POST quick/user/limits for a filter: Neo answers that filter itself, read with funds_from_wire's field choices.

    net is `Net`, cash `CollateralValue`, collateral `Collateral` and
    margin_used `MarginUsed`; the breakdown holds the other named amounts.
    """
    (funds,) = funds_from_wire(payload)
    return Limits.from_funds(funds, segment=segment, exchange=exchange, product=product)


# --- Orders -----------------------------------------------------------------------------------
#
# Two directions, two kinds of refusal. A BudhiTrade value Kotak does not take
# is the order's fault: BrokerOrderRejected, and nothing is sent. A Kotak value
# BudhiTrade cannot name is the broker's: BrokerError, never a guess.

# Exchanges an order can go to (NeoAPI.place_order takes these five segments;
# currency, cde_fo, it refuses). Reading still names every segment Neo sends.
ORDER_EXCHANGE_TO_WIRE = {"NSE": "nse_cm", "NFO": "nse_fo", "BSE": "bse_cm", "BFO": "bse_fo", "MCX": "mcx_fo"}
ORDER_TYPES = {"L": "LIMIT", "MKT": "MARKET", "SL": "SL", "SL-M": "SL-M"}
ORDER_TYPE_TO_WIRE = {domain: wire for wire, domain in ORDER_TYPES.items()}
TRANSACTION_TYPES = {"B": "BUY", "S": "SELL"}
TRANSACTION_TYPE_TO_WIRE = {domain: wire for wire, domain in TRANSACTION_TYPES.items()}
# BudhiTrade places CNC, MIS and NRML; the book may also show MTF, CO or BO
# orders placed in Kotak's own apps, which PRODUCTS reads.
ORDER_PRODUCT_TO_WIRE = {name: name for name in ("CNC", "MIS", "NRML")}
# DAY and IOC are what BudhiTrade sends (and all NeoAPI.place_order takes);
# GTC, EOS and GTD are Kotak validities an order placed elsewhere may carry.
VALIDITIES = {name: name for name in ("DAY", "IOC", "GTC", "EOS", "GTD")}
VALIDITY_TO_WIRE = {"DAY": "DAY", "IOC": "IOC"}
# The variety is Kotak's "am" flag (after-market order).
VARIETY_TO_AMO = {"regular": "NO", "amo": "YES"}

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
ORDER_STATUSES = {
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
}
# Neo's book has no variety field; an after-market order shows in its status.
AMO_STATUSES = frozenset(
    {"after market order req received", "modify after market order req received", "cancelled after market order"}
)
# What Neo writes in a text field that has nothing to say.
BLANK_TEXT = frozenset({"", "NA", "--", "-"})
_NEO_TIMESTAMP = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4}) (\d{1,2}):(\d{2}):(\d{2})")
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


def _refuse_unknown(table: Mapping[str, str], value: Any, what: str) -> str:
    try:
        return table[value]
    except (KeyError, TypeError):
        raise BrokerOrderRejected(f"Kotak Neo does not take {what} {value!r}.") from None


def _text(value: Any) -> str:
    text = "" if value is None else str(value).strip()
    return "" if text in BLANK_TEXT else text


def _wire_number(value: Decimal | int | None) -> str:
    """Neo takes numbers as strings; no price (a market order's) is "0"."""
    if value is None:
        return "0"
    return format(Decimal(value), "f")


def timestamp_from_wire(value: Any) -> datetime | None:
    """Neo's IST wall-clock time ("22-Jan-2025 14:28:01") as an aware datetime; "NA" or "--" is None.

    Read without the locale (%b would follow it). Spaces after the colons,
    as in the SDK docs' "14: 32: 53", are dropped.
    """
    text = _text(value)
    if not text:
        return None
    match = _NEO_TIMESTAMP.fullmatch(re.sub(r":\s+", ":", text))
    month = _MONTHS.get(match.group(2).title()) if match else None
    if match is None or month is None:
        raise BrokerError(f"Kotak Neo sent an unreadable timestamp: {value!r}.")
    day, year, hour, minute, second = (int(match.group(i)) for i in (1, 3, 4, 5, 6))
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=IST)
    except ValueError:
        raise BrokerError(f"Kotak Neo sent an unreadable timestamp: {value!r}.") from None


def order_status_from_wire(value: Any) -> OrderStatus:
    return _lookup(ORDER_STATUSES, str(value).strip().lower() if isinstance(value, str) else value, "order status")


def variety_to_wire(variety: str) -> str:
    """Kotak's `am` flag for a BudhiTrade variety."""
    return _refuse_unknown(VARIETY_TO_AMO, variety, "the order variety")


def order_to_wire(order: OrderRequest) -> dict[str, str | None]:
    """NeoAPI.place_order's arguments, which it sends as jData es/pc/pr/pt/qt/rt/ts/tt/am/dq/tp/ig.

    The tag goes through as Kotak's `ig` (echoed back as GuiOrdId); Kotak
    refuses a tag it has already seen that day ("Client OrderID already
    exists"), so tags must be unique. No tag is None: the SDK refuses a blank one.
    """
    return {
        "exchange_segment": _refuse_unknown(ORDER_EXCHANGE_TO_WIRE, order.exchange, "the exchange"),
        "product": _refuse_unknown(ORDER_PRODUCT_TO_WIRE, order.product, "the product"),
        "price": _wire_number(order.price),
        "order_type": _refuse_unknown(ORDER_TYPE_TO_WIRE, order.order_type, "the order type"),
        "quantity": str(order.quantity),
        "validity": _refuse_unknown(VALIDITY_TO_WIRE, order.validity, "the validity"),
        "trading_symbol": order.tradingsymbol,
        "transaction_type": _refuse_unknown(TRANSACTION_TYPE_TO_WIRE, order.transaction_type, "the transaction type"),
        "amo": variety_to_wire(order.variety),
        "disclosed_quantity": str(order.disclosed_quantity),
        "trigger_price": _wire_number(order.trigger_price),
        "tag": order.tag or None,
    }


def order_row(payload: Any, broker_order_id: str) -> dict[str, Any]:
    """One order's row in a GET quick/user/orders answer; refused if the day's book does not have it."""
    for row in _rows(payload):
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
    order_type = change.order_type or _lookup(ORDER_TYPES, current.get("prcTp"), "order type")
    order_type_wire = _refuse_unknown(ORDER_TYPE_TO_WIRE, order_type, "the order type")
    if change.price is not None:
        price = change.price
    elif order_type in ("MARKET", "SL-M"):
        price = None
    else:
        price = _money(current.get("prc"))
    if change.trigger_price is not None:
        trigger_price = change.trigger_price
    elif order_type in ("SL", "SL-M"):
        trigger_price = _money(current.get("trgPrc"))
    else:
        trigger_price = None
    quantity = change.quantity if change.quantity is not None else _quantity(current.get("qty"))
    return {
        "order_id": broker_order_id,
        "price": _wire_number(price),
        "order_type": order_type_wire,
        "quantity": str(quantity),
        "validity": _refuse_unknown(VALIDITY_TO_WIRE, change.validity or current.get("vldt"), "the validity"),
        "trigger_price": _wire_number(trigger_price),
        "disclosed_quantity": str(_quantity(current.get("dscQty"))),
        "amo": variety_to_wire(variety),
    }


def order_id_from_wire(payload: Any, *, fallback: str = "") -> str:
    """`nOrdNo` of a place, modify or cancel answer.

    A placed order without a number cannot be followed, so that raises; a
    modify or cancel Kotak accepted keeps the number it was sent for.
    """
    order_id = _text(payload.get("nOrdNo")) if isinstance(payload, dict) else ""
    if order_id:
        return order_id
    if fallback:
        return fallback
    raise BrokerError("Kotak Neo accepted the order but sent no order number.")


def is_broker_answer(payload: Any) -> bool:
    """Whether a failed answer is Kotak's own body, not an exception the SDK caught."""
    if not isinstance(payload, dict):
        return False
    if isinstance(payload.get("error"), list):
        return True
    return any(key in payload for key in ("stat", "stCode", "errMsg", "emsg", "message", "fault"))


def order_refusal_message(payload: Any) -> str:
    """Kotak's reason for refusing an order.

    Neo sometimes puts its only useful words in `stat` and a generic one in
    `errMsg` ({"errMsg":"error from core","stat":"Put Order Response : Client
    OrderID already exists Data: 0"}), so a `stat` that is a sentence is kept too.
    """
    message = error_message(payload)
    stat = str(payload.get("stat") or "").strip() if isinstance(payload, dict) else ""
    if stat and stat.lower() not in ("ok", "not_ok") and stat not in message:
        return f"{message} ({stat})"
    return message


def history_body(payload: Any) -> Any:
    """NeoAPI.order_history wraps Kotak's answer as {"data": <answer>}; this is the answer."""
    if isinstance(payload, dict) and set(payload) == {"data"} and isinstance(payload["data"], dict):
        return payload["data"]
    return payload


@dataclass(frozen=True)
class _OrderKeys:
    """The keys that differ between the order book's rows and the order history's."""

    exchange_order_id: str
    validity: str
    order_timestamp: str
    exchange_timestamp: str


# The book's `ordDtTm` is when the order was entered, `exCfmTm` when the
# exchange confirmed it. A history row is one state: `flDtTm` is that state's
# time, `exchTmstp` the exchange's.
BOOK_KEYS = _OrderKeys("exOrdId", "vldt", "ordDtTm", "exCfmTm")
HISTORY_KEYS = _OrderKeys("exchOrdId", "ordDur", "flDtTm", "exchTmstp")


def _order_from_row(row: Mapping[str, Any], keys: _OrderKeys) -> BrokerOrder:
    """One order row. Neo keeps the unfilled quantity (`unFldSz`) on a final
    order; nothing is pending on one, so it is 0 there."""
    wire_status = str(row.get("ordSt") or "").strip().lower()
    status = order_status_from_wire(wire_status)
    return BrokerOrder(
        broker_order_id=str(row["nOrdNo"]),
        status=status,
        tradingsymbol=row.get("trdSym") or "",
        exchange=exchange_from_wire(row.get("exSeg")),
        transaction_type=_lookup(TRANSACTION_TYPES, row.get("trnsTp"), "transaction type"),
        order_type=_lookup(ORDER_TYPES, row.get("prcTp"), "order type"),
        product=product_from_wire(row.get("prod")),
        quantity=_quantity(row.get("qty")),
        filled_quantity=_quantity(row.get("fldQty")),
        pending_quantity=0 if status in FINAL_ORDER_STATUSES else _quantity(row.get("unFldSz")),
        price=_money(row.get("prc")),
        trigger_price=_money(row.get("trgPrc")),
        average_price=_money(row.get("avgPrc")),
        status_message=_text(row.get("rejRsn")),
        tag=_text(row.get("GuiOrdId")),
        exchange_order_id=_text(row.get(keys.exchange_order_id)),
        variety="amo" if wire_status in AMO_STATUSES else "regular",
        validity=_lookup(VALIDITIES, row.get(keys.validity), "validity"),
        order_timestamp=timestamp_from_wire(row.get(keys.order_timestamp)),
        exchange_timestamp=timestamp_from_wire(row.get(keys.exchange_timestamp)),
    )


def orders_from_wire(payload: Any) -> list[BrokerOrder]:
    """GET quick/user/orders: the day's book, each order at its latest state."""
    return [_order_from_row(row, BOOK_KEYS) for row in _rows(payload)]


def order_history_from_wire(payload: Any) -> list[BrokerOrder]:
    """POST quick/order/history (the answer inside the SDK's wrapper): one order's states, oldest first.

    Neo lists them newest first ("complete" above "put order req received" in
    the SDK docs' sample), so the list is reversed. `updRecvTm` is not the
    state's time (it grows down Neo's list), so it cannot be sorted on.
    """
    return [_order_from_row(row, HISTORY_KEYS) for row in reversed(_rows(payload))]


def fills_from_wire(payload: Any) -> list[Fill]:
    """GET quick/user/trades: one Fill per row.

    A row's `avgPrc` is the price of that fill (its `prc` is blank), `flId`
    the exchange's trade id, `flDt` + `flTm` when it filled.
    """
    fills = []
    for row in _rows(payload):
        filled_on, filled_at = _text(row.get("flDt")), _text(row.get("flTm"))
        fills.append(
            Fill(
                trade_id=str(row["flId"]),
                broker_order_id=str(row["nOrdNo"]),
                tradingsymbol=row.get("trdSym") or "",
                exchange=exchange_from_wire(row.get("exSeg")),
                transaction_type=_lookup(TRANSACTION_TYPES, row.get("trnsTp"), "transaction type"),
                product=product_from_wire(row.get("prod")),
                quantity=_quantity(row.get("fldQty")),
                price=_money(row.get("avgPrc")),
                exchange_order_id=_text(row.get("exOrdId")),
                fill_timestamp=timestamp_from_wire(f"{filled_on} {filled_at}") if filled_on and filled_at else None,
            )
        )
    return fills


def order_progress_from_feed(data: Mapping[str, Any]) -> OrderProgress:
    """One `order` frame of the order feed (nOrdNo, ordSt, fldQty, unFldSz, avgPrc, exOrdId)."""
    status = order_status_from_wire(data.get("ordSt"))
    return OrderProgress(
        broker_order_id=str(data["nOrdNo"]),
        status=status,
        filled_quantity=_quantity(data.get("fldQty")),
        pending_quantity=0 if status in FINAL_ORDER_STATUSES else _quantity(data.get("unFldSz")),
        average_price=_money(data.get("avgPrc")),
        exchange_order_id=_text(data.get("exOrdId")),
        status_message=_text(data.get("rejRsn")),
    )


# --- The scrip master: GET script-details/1.0/masterscrip/file-paths, then one CSV per segment -------

INSTRUMENT_SEGMENTS = ("nse_cm", "bse_cm", "nse_fo", "bse_fo", "mcx_fo")
# NSE's derivative expiries count seconds from 1980-01-01, the others from 1970 (the SDK's scrip_search).
NSE_FO_EPOCH_OFFSET = 315511200
OPTION_TYPES = {"CE": "CE", "PE": "PE", "XX": "FUT"}
SCRIP_MASTER_COLUMNS = {"pSymbol", "pTrdSymbol", "pSymbolName", "pOptionType", "lLotSize", "dTickSize", "pExpiryDate"}


def scrip_master_answer(payload: Any) -> Any:
    """NeoAPI.scrip_master hands back the answer's `data` (its file list) or its own error dict."""
    if isinstance(payload, dict) and "filesPaths" in payload:
        return {"data": payload}
    return payload


def scrip_master_files(payload: Mapping[str, Any]) -> dict[str, str]:
    """The CSV address for each segment BudhiTrade trades, by segment (nse_cm, nse_fo, ...); all of them or
    BrokerError."""
    files = payload["data"].get("filesPaths") or []
    found = {}
    for url in files:
        name = str(url).rsplit("/", 1)[-1].lower()
        for segment in INSTRUMENT_SEGMENTS:
            if name.startswith(segment):
                found[segment] = str(url)
    missing = [segment for segment in INSTRUMENT_SEGMENTS if segment not in found]
    if missing:
        raise BrokerError(f"Kotak Neo's scrip master lists no file for {', '.join(missing)}.")
    return found


def scrip_master_day(urls) -> date | None:
    """The oldest day the file addresses carry (…/prod/2026-12-01/…), if they carry one."""
    days = []
    for url in urls:
        match = re.search(r"/(\d{4})-(\d{2})-(\d{2})/", str(url))
        if match:
            days.append(date(*(int(part) for part in match.groups())))
    return min(days) if days else None


def _number(value: Any) -> Decimal:
    try:
        return Decimal(str(value).strip() or "0")
    except ArithmeticError:
        raise BrokerError(f"Kotak Neo's scrip master has an unreadable number: {value!r}.") from None


def _expiry(value: Any, segment: str) -> date | None:
    seconds = int(_number(value))
    if seconds <= 0:
        return None
    if segment == "nse_fo":
        seconds += NSE_FO_EPOCH_OFFSET
    return datetime.fromtimestamp(seconds, tz=dt_timezone.utc).astimezone(IST).date()


def instruments_from_scrip_master(segment: str, text: str) -> list[Instrument]:
    """One segment's scrip master CSV. Prices are in paise unless lPrecision says otherwise (dStrikePrice;
    and dTickSize; a tick of 0 is not checked); pOptionType is CE, PE, or XX for a future; cash-market rows
    are equity."""
    exchange = EXCHANGE_SEGMENTS[segment]
    derivatives = segment.endswith("_fo")
    reader = csv.DictReader(io.StringIO(text))
    columns = {(name or "").strip() for name in reader.fieldnames or ()}
    missing = sorted(SCRIP_MASTER_COLUMNS - columns)
    if missing:
        raise BrokerError(f"Kotak Neo's {segment} scrip master lacks the columns {', '.join(missing)}.")
    listed = []
    for raw in reader:
        # a row with more fields than the header puts the rest in a list under None: ignored
        row = {key.strip(): value.strip() for key, value in raw.items() if key and isinstance(value, str)}
        symbol = row.get("pTrdSymbol")
        if not symbol or len(symbol) > INSTRUMENT_SYMBOL_LENGTH:
            continue
        if derivatives:
            kind = OPTION_TYPES.get(row.get("pOptionType", "").upper())
            if kind is None:
                continue
        else:
            kind = "EQ"
        scale = Decimal(10) ** int(_number(row.get("lPrecision") or "2"))
        # MCX quantities are in lots at Kotak while lLotSize may be in units: its lot is not checked
        lot_size = 1 if segment == "mcx_fo" else int(_number(row.get("lLotSize") or "1")) or 1
        listed.append(Instrument(
            exchange=exchange, tradingsymbol=symbol, token=row.get("pSymbol", ""),
            name=row.get("pSymbolName", "")[:INSTRUMENT_NAME_LENGTH], instrument_type=kind, lot_size=lot_size,
            tick_size=_number(row.get("dTickSize") or "0") / scale,
            expiry=_expiry(row.get("pExpiryDate") or "0", segment) if derivatives else None,
            strike=max(_number(row.get("dStrikePrice;") or "0"), Decimal(0)) / scale if kind in ("CE", "PE") else Decimal(0),
        ))
    return listed
