"""Kite Connect wire formats to BudhiTrade types: the only module that knows Kite's keys."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from brokers.adapters.base import BrokerError
from brokers.domain import FundsSegment, Holding, Position, SegmentFunds

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
