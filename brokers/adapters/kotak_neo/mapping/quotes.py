"""Kotak Neo quotes (GET script-details/1.0/quotes/neosymbol/<segment>|<token>,.../<quote type>) both ways."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from brokers.adapters.base import BrokerOrderRejected
from brokers.adapters.kotak_neo.mapping.codes import (
    EXCHANGES,
    epoch_from_wire,
    optional_money,
    optional_quantity,
    text,
)
from brokers.adapters.wiremap import WireMap
from brokers.domain import Broker, DepthLevel, Quote, QuoteInstrument, QuoteKind

# Kotak answers at most 50 instruments a call (its quotes docs); more are sent in batches.
QUOTES_PER_CALL = 50
# NeoAPI.quotes' quote_type for each kind (Kotak calls depth "market_depth").
QUOTE_TYPES = WireMap(Broker.KOTAK_NEO, "the quote type", {
    "all": QuoteKind.ALL,
    "market_depth": QuoteKind.DEPTH,
    "ohlc": QuoteKind.OHLC,
    "ltp": QuoteKind.LTP,
    "oi": QuoteKind.OI,
    "52w": QuoteKind.WEEK_52,
    "circuit_limits": QuoteKind.CIRCUIT_LIMITS,
    "scrip_details": QuoteKind.SCRIP_DETAILS,
})
# A quote names its instrument by Kotak's (segment, token).
WireInstrument = tuple[str, str]


def quote_type_to_wire(kind: QuoteKind | str) -> str:
    return QUOTE_TYPES.to_wire(kind)


def quotes_answer(payload: Any) -> Any:
    """NeoAPI.quotes hands back Kotak's list of quotes, or a dict (an error, or Kotak's own error body)."""
    if isinstance(payload, list):
        return {"data": payload}
    return payload


def quote_instruments_to_wire(instruments: Sequence[QuoteInstrument]) -> list[WireInstrument]:
    """(segment, token) for each instrument; Kotak prices by token, so one without a token is refused (400)."""
    wire = []
    for instrument in instruments:
        if not instrument.token:
            raise BrokerOrderRejected(
                f"Kotak Neo quotes an instrument by its token; {instrument.exchange}:{instrument.tradingsymbol} has none."
            )
        wire.append((EXCHANGES.to_wire(instrument.exchange), str(instrument.token)))
    return wire


def quote_tokens_to_wire(batch: Sequence[WireInstrument]) -> list[dict[str, str]]:
    """NeoAPI.quotes' instrument_tokens argument."""
    return [{"exchange_segment": segment, "instrument_token": token} for segment, token in batch]


def _depth(levels: Any) -> tuple[DepthLevel, ...]:
    if not isinstance(levels, list):
        return ()
    return tuple(
        DepthLevel(price=optional_money(level.get("price")) or Decimal("0"),
                   quantity=optional_quantity(level.get("quantity")) or 0,
                   orders=optional_quantity(level.get("orders")))
        for level in levels if isinstance(level, dict)
    )


def quote_from_wire(row: Mapping[str, Any], instrument: QuoteInstrument, *, received_at: datetime) -> Quote:
    """One quote. `low_price_range`/`high_price_range` are the day's circuit limits, `year_low`/`year_high`
    the 52-week range, `lstup_time` the exchange's last update (epoch seconds); a part the quote type did
    not ask for is absent and None."""
    ohlc = row.get("ohlc") if isinstance(row.get("ohlc"), dict) else {}
    depth = row.get("depth") if isinstance(row.get("depth"), dict) else {}
    return Quote(
        instrument=instrument,
        received_at=received_at,
        last_price=optional_money(row.get("ltp")),
        open=optional_money(ohlc.get("open")),
        high=optional_money(ohlc.get("high")),
        low=optional_money(ohlc.get("low")),
        close=optional_money(ohlc.get("close")),
        change=optional_money(row.get("change")),
        volume=optional_quantity(row.get("last_volume")),
        average_price=optional_money(row.get("avg_cost")),
        last_quantity=optional_quantity(row.get("last_traded_quantity")),
        oi=optional_quantity(row.get("open_int")),
        buy_quantity=optional_quantity(row.get("total_buy")),
        sell_quantity=optional_quantity(row.get("total_sell")),
        bids=_depth(depth.get("buy")),
        asks=_depth(depth.get("sell")),
        week_52_high=optional_money(row.get("year_high")),
        week_52_low=optional_money(row.get("year_low")),
        upper_circuit=optional_money(row.get("high_price_range")),
        lower_circuit=optional_money(row.get("low_price_range")),
        exchange_timestamp=epoch_from_wire(row.get("lstup_time")),
    )


def quote_rows_from_wire(payload: Any) -> dict[WireInstrument, Mapping[str, Any]]:
    """A quotes answer's rows by (segment, token)."""
    listed = payload.get("data") if isinstance(payload, dict) else payload
    found = {}
    for row in listed if isinstance(listed, list) else []:
        if isinstance(row, dict) and row.get("exchange") and row.get("exchange_token") is not None:
            found[(text(row["exchange"]), text(row["exchange_token"]))] = row
    return found


def ltps_from_wire(payload: Any) -> dict[WireInstrument, Decimal]:
    """The last price of each instrument a quotes answer prices.

    An LTP of 0 is no price (Kotak sends 0 for an instrument it has no trade
    for): a position is never valued at it.
    """
    prices = {}
    for key, row in quote_rows_from_wire(payload).items():
        price = optional_money(row.get("ltp"))
        if price:
            prices[key] = price
    return prices
