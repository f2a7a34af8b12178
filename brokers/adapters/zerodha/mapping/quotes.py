"""Kite's market quotes (GET /quote, /quote/ohlc, /quote/ltp) as BudhiTrade's Quote."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from brokers.adapters.zerodha.mapping.values import EXCHANGES, count_or_none, money, price, timestamp_from_wire
from brokers.domain import DepthLevel, Quote, QuoteInstrument, QuoteKind
from budhitrade.errors import InvalidInput

# Kite's three quote calls and how many instruments each takes at once.
FULL, OHLC, LTP = "quote", "ohlc", "ltp"
BATCH_SIZES = {FULL: 500, OHLC: 1000, LTP: 1000}


def quote_call(kind: QuoteKind) -> str:
    """The quote call that answers `kind`: the full quote for depth, OI, circuit limits and the rest."""
    if kind == QuoteKind.LTP:
        return LTP
    if kind == QuoteKind.OHLC:
        return OHLC
    return FULL


def quote_key(instrument: QuoteInstrument) -> str:
    """Kite's name for an instrument in a quote call (its `i`): EXCHANGE:TRADINGSYMBOL, else the instrument token."""
    if instrument.tradingsymbol:
        return f"{EXCHANGES.to_wire(instrument.exchange)}:{instrument.tradingsymbol}"
    if instrument.token:
        return str(instrument.token)
    raise InvalidInput("Each instrument to quote needs its trading symbol or token.")


def _depth(levels: list[dict[str, Any]] | None) -> tuple[DepthLevel, ...]:
    """Kite pads depth to five levels with zeros; a level with no price and no quantity is no level."""
    return tuple(
        DepthLevel(price=money(level.get("price")), quantity=int(level.get("quantity") or 0),
                   orders=count_or_none(level.get("orders")))
        for level in levels or []
        if level.get("price") or level.get("quantity")
    )


def prices_from_wire(body: dict[str, Any]) -> dict[str, Any]:
    """The Quote fields a quote entry and a ticker tick name alike: last price, the day's OHLC, OI and depth.

    Both carry `ohlc` and `depth` as the same objects (kiteconnect decodes the
    ticker's packets into the REST quote's shape); the change is last price
    minus the previous close, where both are known.
    """
    ohlc = body.get("ohlc") or {}
    depth = body.get("depth") or {}
    last_price, close = price(body.get("last_price")), price(ohlc.get("close"))
    return {
        "last_price": last_price,
        "open": price(ohlc.get("open")),
        "high": price(ohlc.get("high")),
        "low": price(ohlc.get("low")),
        "close": close,
        "change": last_price - close if last_price is not None and close else None,
        "oi": count_or_none(body.get("oi")),
        "oi_day_high": count_or_none(body.get("oi_day_high")),
        "oi_day_low": count_or_none(body.get("oi_day_low")),
        "bids": _depth(depth.get("buy")),
        "asks": _depth(depth.get("sell")),
    }


def quote_from_wire(instrument: QuoteInstrument, row: dict[str, Any] | None, *, received_at: datetime) -> Quote:
    """One instrument's entry in a quote answer; an instrument Kite left out is a quote with nothing in it.

    Kite's quote has no 52-week range (None). Its `net_change` is not filled
    in (Kite's libraries compute it): prices_from_wire computes the change.
    """
    if row is None:
        return Quote(instrument=instrument, received_at=received_at)
    instrument = QuoteInstrument(exchange=instrument.exchange, tradingsymbol=instrument.tradingsymbol,
                                 token=instrument.token or str(row.get("instrument_token") or ""))
    return Quote(
        instrument=instrument,
        received_at=received_at,
        **prices_from_wire(row),
        volume=count_or_none(row.get("volume")),
        average_price=price(row.get("average_price")),
        last_quantity=count_or_none(row.get("last_quantity")),
        buy_quantity=count_or_none(row.get("buy_quantity")),
        sell_quantity=count_or_none(row.get("sell_quantity")),
        upper_circuit=price(row.get("upper_circuit_limit")),
        lower_circuit=price(row.get("lower_circuit_limit")),
        last_trade_at=timestamp_from_wire(row.get("last_trade_time")),
        exchange_timestamp=timestamp_from_wire(row.get("timestamp")),
    )
