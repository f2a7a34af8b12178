"""The one JSON shape of an instrument's market data, for the market socket's `market_data` and for REST quotes.

`market_data` runs for every tick in the market-feed process, so it is plain
Python over a Quote (no serializers): prices as JSON numbers in rupees
(the contract's rule for every price; seed 002 shows `"ltp": "2500.50"`, a
string, which the contract reconciles to a number), counts as ints, what the broker
did not send as null, times as ISO 8601 UTC with `Z`. A higher StreamMode adds
keys and never changes the lower ones, so a client reads every message alike.
REST quotes add what only a quote call carries (52-week range, circuit limits,
the instrument's details) with `quote_data`; the instrument rows of the scrip
master and the search are `instrument_row`.
"""

from __future__ import annotations

from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any

from brokers.domain import DepthLevel, Quote, QuoteKind
from brokers.market.keys import StreamMode

# How much of the stream's shape each REST quote type answers, and which extras it adds.
KIND_MODES: dict[QuoteKind, StreamMode] = {
    QuoteKind.ALL: StreamMode.DEPTH,
    QuoteKind.DEPTH: StreamMode.DEPTH,
    QuoteKind.OHLC: StreamMode.QUOTE,
    QuoteKind.OI: StreamMode.QUOTE,
    QuoteKind.LTP: StreamMode.LTP,
    QuoteKind.WEEK_52: StreamMode.LTP,
    QuoteKind.CIRCUIT_LIMITS: StreamMode.LTP,
    QuoteKind.SCRIP_DETAILS: StreamMode.LTP,
}
WEEK_52_KINDS = frozenset({QuoteKind.ALL, QuoteKind.WEEK_52})
CIRCUIT_KINDS = frozenset({QuoteKind.ALL, QuoteKind.CIRCUIT_LIMITS})
SCRIP_KINDS = frozenset({QuoteKind.ALL, QuoteKind.SCRIP_DETAILS})
OPTION_TYPES = frozenset({"CE", "PE"})


def price(value: Decimal | float | int | None) -> float | None:
    """A price as the contract gives every price: a JSON number in rupees (Decimal's own digits, e.g. Kotak's
    "801.6000" -> 801.6; a currency tick 0.0025 keeps its four places); None, NaN or infinity is null."""
    if value is None:
        return None
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    if not value.is_finite():
        return None
    return float(value)


def iso_utc(at: datetime | None) -> str | None:
    """ISO 8601 in UTC with `Z`; milliseconds only where the time has them."""
    if at is None:
        return None
    at = at.astimezone(dt_timezone.utc)
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    if at.microsecond:
        text += f".{at.microsecond // 1000:03d}"
    return text + "Z"


def _levels(levels: tuple[DepthLevel, ...]) -> list[dict[str, Any]]:
    return [{"price": price(level.price), "quantity": level.quantity, "orders": level.orders}
            for level in levels[:5]]


def market_data(quote: Quote, *, segment: str, mode: StreamMode, token: str | None = None) -> dict[str, Any]:
    """The `market_data` message's `data` for one instrument at `mode` (LTP, + day's quote, + five levels of depth).

    `token` is the instrument as the client names it; by default the quote's own (the broker's token).
    """
    data: dict[str, Any] = {
        "instrument_token": token if token is not None else quote.instrument.token,
        "exchange_segment": segment,
        "ltp": price(quote.last_price),
        "timestamp": iso_utc(quote.exchange_timestamp or quote.last_trade_at or quote.received_at),
    }
    if mode >= StreamMode.QUOTE:
        data.update(
            open=price(quote.open),
            high=price(quote.high),
            low=price(quote.low),
            close=price(quote.close),
            change=price(quote.change),
            volume=quote.volume,
            average_price=price(quote.average_price),
            last_quantity=quote.last_quantity,
            oi=quote.oi,
            oi_day_high=quote.oi_day_high,
            oi_day_low=quote.oi_day_low,
            buy_quantity=quote.buy_quantity,
            sell_quantity=quote.sell_quantity,
            last_trade_time=iso_utc(quote.last_trade_at),
        )
    if mode >= StreamMode.DEPTH:
        data["depth"] = {"buy": _levels(quote.bids), "sell": _levels(quote.asks)}
    return data


def instrument_row(*, token: str, segment: str, tradingsymbol: str, name: str = "", isin: str = "",
                   instrument_type: str = "", expiry: date | None = None, strike: Decimal | None = None,
                   lot_size: int | None = None, tick_size: Decimal | None = None) -> dict[str, Any]:
    """One instrument of a stored master or the paper listing (scrip master, search, a quote's scrip details).

    The option type comes from the instrument type (CE, PE); a strike only an option has (0 elsewhere is null);
    an ISIN only where the listing keeps one.
    """
    is_option = instrument_type in OPTION_TYPES
    return {
        "instrument_token": token,
        "exchange_segment": segment,
        "trading_symbol": tradingsymbol,
        "name": name or None,
        "isin": isin or None,
        "instrument_type": instrument_type or None,
        "expiry": expiry.isoformat() if expiry else None,
        "strike": price(strike) if is_option and strike else None,
        "option_type": instrument_type if is_option else None,
        "lot_size": lot_size,
        "tick_size": price(tick_size) if tick_size else None,
    }


def quote_data(quote: Quote, *, segment: str, kind: QuoteKind, token: str | None = None,
               scrip: dict[str, Any] | None = None) -> dict[str, Any]:
    """One instrument of a REST quotes answer: `market_data` at the kind's mode, plus the kind's extras.

    The keys depend on the quote type only, never on the broker: what a broker did not send is null.
    `scrip` is the instrument's `instrument_row`, whose details `scrip_details` and `all` add.
    """
    data = market_data(quote, segment=segment, mode=KIND_MODES[kind], token=token)
    if kind in WEEK_52_KINDS:
        data["week_52_high"] = price(quote.week_52_high)
        data["week_52_low"] = price(quote.week_52_low)
    if kind in CIRCUIT_KINDS:
        data["upper_circuit"] = price(quote.upper_circuit)
        data["lower_circuit"] = price(quote.lower_circuit)
    if kind in SCRIP_KINDS:
        details = scrip or {}
        for name in ("trading_symbol", "name", "isin", "instrument_type", "expiry", "strike", "option_type",
                     "lot_size", "tick_size"):
            data[name] = details.get(name)
    return data
