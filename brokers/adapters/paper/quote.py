"""One paper instrument's quote, as its row stands: what the adapter answers and what its stream ticks."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from brokers.domain import Quote, QuoteInstrument, QuoteKind
from brokers.paper import engine
from brokers.paper.models import PaperInstrument

CENT = Decimal("0.01")


def paper_quote(instrument: QuoteInstrument, row: PaperInstrument, *, kind: QuoteKind, received_at, clock) -> Quote:
    """The quote `kind` asks for: last price; plus the day's OHLC; plus volume, OI and the engine's depth."""
    last = Quote(instrument=instrument, received_at=received_at, last_price=row.last_price, exchange_timestamp=clock)
    if kind == QuoteKind.LTP:
        return last
    day = {"open": row.open_price or None, "high": row.high_price or None, "low": row.low_price or None,
           "close": row.close_price or None,
           "change": (row.last_price - row.close_price).quantize(CENT) if row.close_price else None}
    if kind == QuoteKind.OHLC:
        return replace(last, **day)
    bids, asks = engine.market_depth(row, now=clock)
    traded = row.instrument_type != "INDEX"
    return replace(last, **day, volume=row.volume if traded else None,
                   oi=row.oi if row.is_derivative else None, bids=bids, asks=asks,
                   buy_quantity=sum(level.quantity for level in bids) if bids else None,
                   sell_quantity=sum(level.quantity for level in asks) if asks else None)
