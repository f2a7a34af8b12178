"""Kite's holdings, positions and margins as BudhiTrade's portfolio types."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from brokers.adapters.zerodha.mapping.values import EXCHANGES, PRODUCTS, count, money, price
from brokers.domain import FundsSegment, Holding, Position, SegmentFunds

FUNDS_SEGMENTS = {"equity": FundsSegment.EQUITY, "commodity": FundsSegment.COMMODITY}
AVAILABLE_KEYS = ("cash", "intraday_payin", "collateral", "live_balance", "opening_balance", "adhoc_margin")
UTILISED_KEYS = (
    "debits", "exposure", "m2m_realised", "m2m_unrealised", "option_premium", "span",
    "holding_sales", "turnover", "payout", "liquid_collateral", "stock_collateral", "delivery",
)


def holding_from_wire(row: dict[str, Any]) -> Holding:
    """One GET /portfolio/holdings row.

    Kite's `quantity` is settled shares and `t1_quantity` those bought on the
    previous session, not yet settled; its `pnl` covers both, so value and
    cost are over both too. Kite lets both be sold, less what was already
    sold today (`used_quantity`); an answer without `used_quantity` does not
    say, so the sellable quantity is then unknown. `day_change` is Kite's
    per-share change since the last close.
    """
    quantity, t1_quantity = int(row["quantity"]), count(row.get("t1_quantity"))
    average_price, last_price = money(row["average_price"]), price(row.get("last_price"))
    held = quantity + t1_quantity
    used = row.get("used_quantity")
    return Holding(
        tradingsymbol=row["tradingsymbol"],
        exchange=EXCHANGES.from_wire(row["exchange"]),
        isin=row.get("isin") or "",
        quantity=quantity,
        average_price=average_price,
        last_price=last_price,
        close_price=money(row.get("close_price")),
        pnl=price(row.get("pnl")) if last_price is not None else None,
        day_change=price(row.get("day_change")) if last_price is not None else None,
        product=PRODUCTS.from_wire(row["product"]),
        collateral_quantity=count(row.get("collateral_quantity")),
        collateral_type=row.get("collateral_type") or "",
        t1_quantity=t1_quantity,
        sellable_quantity=max(held - int(used), 0) if used is not None else None,
        market_value=last_price * held if last_price is not None else None,
        holding_cost=average_price * held,
        instrument_token=str(row.get("instrument_token") or ""),
    )


def holdings_from_wire(rows: list[dict[str, Any]] | None) -> list[Holding]:
    """GET /portfolio/holdings."""
    return [holding_from_wire(row) for row in rows or []]


def position_from_wire(row: dict[str, Any]) -> Position:
    """One "net" row of GET /portfolio/positions.

    Kite's `m2m` is the day's mark-to-market (overnight legs valued at the
    previous close), so it is both `m2m` and `day_pnl`; `pnl` is against
    the actual cost. `multiplier` is the units one quoted price stands for
    (a commodity lot); Kite's `value` already counts it.
    """
    last_price = price(row.get("last_price"))
    valued = last_price is not None
    return Position(
        tradingsymbol=row["tradingsymbol"],
        exchange=EXCHANGES.from_wire(row["exchange"]),
        product=PRODUCTS.from_wire(row["product"]),
        quantity=int(row["quantity"]),
        average_price=money(row["average_price"]),
        last_price=last_price,
        close_price=money(row.get("close_price")),
        pnl=price(row.get("pnl")) if valued else None,
        m2m=price(row.get("m2m")) if valued else None,
        day_pnl=price(row.get("m2m")) if valued else None,
        value=money(row.get("value")),
        buy_quantity=count(row.get("buy_quantity")),
        buy_price=money(row.get("buy_price")),
        sell_quantity=count(row.get("sell_quantity")),
        sell_price=money(row.get("sell_price")),
        overnight_quantity=count(row.get("overnight_quantity")),
        instrument_token=str(row.get("instrument_token") or ""),
        multiplier=Decimal(str(row.get("multiplier") or 1)),
        realised=money(row.get("realised")),
        unrealised=price(row.get("unrealised")) if valued else None,
    )


def positions_from_wire(payload: dict[str, Any] | None) -> list[Position]:
    """GET /portfolio/positions "net" rows (the "day" list is today's trades only)."""
    return [position_from_wire(row) for row in (payload or {}).get("net") or []]


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
                net=money(margins.get("net")),
                available={key: money(available.get(key)) for key in AVAILABLE_KEYS},
                utilised={key: money(utilised.get(key)) for key in UTILISED_KEYS},
            )
        )
    return funds
