"""Kotak Neo wire formats to BudhiTrade types: the only module that knows Neo's keys."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any

import jwt

from brokers.adapters.base import BrokerError
from brokers.domain import (
    FundsSegment,
    Holding,
    Limits,
    LimitsExchange,
    LimitsProduct,
    LimitsSegment,
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
    """The SDK's "no trade session" answer, or Kotak's invalid-session body."""
    if not isinstance(payload, dict):
        return False
    if SESSION_ERROR_TEXT in str(payload.get("Error Message", "")):
        return True
    return payload.get("stCode") in SESSION_ERROR_CODES or "invalid session" in str(
        payload.get("errMsg", "")
    ).lower()


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
