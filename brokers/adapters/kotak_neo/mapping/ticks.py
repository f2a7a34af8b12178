"""Kotak Neo's SFeed market feed (`native_batch`) to Quotes: each carried instrument's merged latest state.

The SDK (neo_api_client.websocket.feed) decodes each binary packet into a
message and scales its prices by the exchange's divider from the auth answer.
A packet carries part of an instrument's state, by kind: a mini touch line
(`scrip_lite`, level 1) only the last trade and change, a touch line
(`scrip`, level 4) the day's quote with one bid and one ask, depth (level 8)
that and the book, an index packet its value and the day's range. The SDK
keeps no state between packets, so `TickBook` merges them per instrument: a
field a packet does not carry keeps its earlier value, and every Quote made
is the instrument's whole latest state.

An index is subscribed by its name (`Nifty 50`) but streams under a numeric
token the server chose; its packets carry the name, and the book gives them
back under the name they were subscribed by.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from brokers.adapters.kotak_neo.mapping.codes import EXCHANGES, epoch_from_wire
from brokers.adapters.streams import StreamInstrument
from brokers.domain import DepthLevel, Quote, QuoteInstrument
from brokers.market.keys import StreamMode

logger = logging.getLogger("budhitrade.brokers")

# The SDK's subscription intent (its subscribe_<intent> / unsubscribe_<intent>) for each mode; an index has one.
FEED_INTENTS = {StreamMode.LTP: "scrips_lite", StreamMode.QUOTE: "scrips", StreamMode.DEPTH: "depth"}
INDEX_INTENT = "index"
# Levels of the SDK's market-picture packets (models.Level): the touch line's one row each side, depth's book.
TOUCH_LINE_LEVEL = 4
DEPTH_LEVEL = 8
DEPTH_LEVELS = 5  # BudhiTrade's depth is five levels a side
# Kotak's precisions are a few decimals; anything else is not a precision and the price is kept as scaled.
_MAX_PRECISION = 8


def feed_intent(instrument: StreamInstrument, mode: StreamMode) -> str:
    """Which SDK channel carries an instrument at `mode`: an index always the index channel."""
    return INDEX_INTENT if instrument.is_index else FEED_INTENTS[StreamMode(mode)]


def stream_token_to_wire(instrument: StreamInstrument) -> tuple[str, str]:
    """Kotak's (segment, token): a scrip's token or an index's name (400 on an exchange Kotak has no segment for)."""
    return EXCHANGES.to_wire(instrument.exchange), str(instrument.token).strip()


def _price(value: Any, precision: Any) -> Decimal | None:
    """A price the SDK scaled to a float, as the Decimal Kotak meant: `precision` decimals."""
    if value is None:
        return None
    price = Decimal(repr(float(value)))
    if isinstance(precision, int) and 0 <= precision <= _MAX_PRECISION:
        return price.quantize(Decimal(1).scaleb(-precision))
    return price


def _depth(rows: Iterable[Any], precision: Any) -> tuple[DepthLevel, ...]:
    return tuple(DepthLevel(price=_price(row.price, precision), quantity=int(row.quantity), orders=int(row.orders))
                 for row in list(rows)[:DEPTH_LEVELS])


def _name_key(segment: str, name: str) -> tuple[str, str]:
    return segment, " ".join(str(name).split()).casefold()


@dataclass
class _Carried:
    instrument: StreamInstrument
    mode: StreamMode
    quote: Quote | None = None


class TickBook:
    """The instruments one stream carries, and each one's merged latest Quote."""

    def __init__(self) -> None:
        self._carried: dict[tuple[str, str], _Carried] = {}
        self._index_names: dict[tuple[str, str], tuple[str, str]] = {}
        self._unmatched: set[tuple[str, str]] = set()

    def __len__(self) -> int:
        return len(self._carried)

    def carry(self, instrument: StreamInstrument, mode: StreamMode) -> None:
        """Carry an instrument at `mode`; a book deeper than the new mode carries is dropped."""
        key = stream_token_to_wire(instrument)
        carried = self._carried.get(key)
        if carried is None:
            self._carried[key] = _Carried(instrument=instrument, mode=StreamMode(mode))
            if instrument.is_index:
                self._index_names[_name_key(*key)] = key
            return
        if mode < StreamMode.DEPTH <= carried.mode and carried.quote is not None:
            carried.quote = replace(carried.quote, bids=(), asks=())
        carried.mode = StreamMode(mode)

    def drop(self, instrument: StreamInstrument) -> None:
        key = stream_token_to_wire(instrument)
        self._carried.pop(key, None)
        self._index_names.pop(_name_key(*key), None)

    def merge(self, message: Any, *, received_at: datetime) -> Quote | None:
        """The message's instrument's new whole Quote; None for a message that is no carried instrument's tick."""
        kind = getattr(message, "type", None)
        if kind in ("scrip", "scrip_lite"):
            key = (message.exchange_segment, message.instrument_token)
        elif kind == "index":
            key = self._index_key(message)
        else:  # market status, closing-auction changes: not ticks
            return None
        carried = self._carried.get(key) if key else None
        if carried is None:
            return None  # a packet that was under way when its instrument was unsubscribed
        previous = carried.quote or Quote(instrument=self._instrument(carried, message), received_at=received_at)
        fields = _fields(kind, message, carried.mode)
        carried.quote = replace(previous, instrument=self._instrument(carried, message), received_at=received_at,
                                **fields)
        return carried.quote

    def _index_key(self, message: Any) -> tuple[str, str] | None:
        name_key = _name_key(message.exchange_segment, message.name)
        key = self._index_names.get(name_key)
        if key is None and name_key not in self._unmatched:
            self._unmatched.add(name_key)
            logger.warning("kotak_neo_feed_index_unmatched", extra={
                "segment": message.exchange_segment, "index": str(message.name)[:64],
                "token": message.instrument_token})
        return key

    @staticmethod
    def _instrument(carried: _Carried, message: Any) -> QuoteInstrument:
        symbol = getattr(message, "trading_symbol", None) or ""
        if carried.quote is not None and not symbol:
            symbol = carried.quote.instrument.tradingsymbol
        return QuoteInstrument(exchange=carried.instrument.exchange, token=carried.instrument.token,
                               tradingsymbol=symbol)


@dataclass(frozen=True)
class _Carries:
    """What one kind of packet carries: each Quote field it replaces, and the SDK message's attribute for it."""

    prices: dict[str, str]
    counts: dict[str, str] = field(default_factory=dict)
    times: dict[str, str] = field(default_factory=dict)  # 0 is "none yet", not a new time: the earlier one stays
    book: bool = False  # its buy and sell rows (a touch line's one row, depth's five)


# The day's OHLC and the year's range, named alike in a touch line and an index packet.
_RANGES = {"open": "open_price", "high": "high_price", "low": "low_price", "close": "close_price",
           "week_52_high": "yearly_high", "week_52_low": "yearly_low"}
# A field a kind does not name keeps its earlier value.
_CARRIES = {
    # A touch line or depth packet: the whole day's quote, and its book.
    "scrip": _Carries(
        prices={"last_price": "last_traded_price", **_RANGES, "change": "net_change",
                "average_price": "average_trade_price", "upper_circuit": "upper_circuit_limit",
                "lower_circuit": "lower_circuit_limit"},
        counts={"volume": "volume_traded_today", "last_quantity": "last_trade_qty", "oi": "open_interest",
                "buy_quantity": "total_buy_quantity", "sell_quantity": "total_sell_quantity"},
        times={"last_trade_at": "last_trade_time", "exchange_timestamp": "last_update_time"},
        book=True),
    # A mini touch line: the last trade, the previous close and the change.
    "scrip_lite": _Carries(
        prices={"last_price": "last_traded_price", "close": "close_price", "change": "net_change"},
        counts={"last_quantity": "last_trade_qty"},
        times={"last_trade_at": "last_trade_time"}),
    # An index packet: its value, the day's range and change, the year's range; its time is the exchange's.
    "index": _Carries(
        prices={"last_price": "last_traded_price", **_RANGES, "change": "change"},
        times={"exchange_timestamp": "last_trade_time"}),
}


def _fields(kind: str, message: Any, mode: StreamMode) -> dict[str, Any]:
    """The Quote fields a packet of `kind` replaces, as _CARRIES says."""
    carries = _CARRIES[kind]
    fields: dict[str, Any] = {name: _price(getattr(message, attribute), message.precision)
                              for name, attribute in carries.prices.items()}
    fields.update((name, getattr(message, attribute)) for name, attribute in carries.counts.items())
    for name, attribute in carries.times.items():
        if (at := epoch_from_wire(getattr(message, attribute))) is not None:
            fields[name] = at
    # A touch line's single row does not replace a five-level book the instrument is carried with.
    if carries.book and (message.level >= DEPTH_LEVEL or mode < StreamMode.DEPTH):
        fields["bids"] = _depth(message.buy, message.precision)
        fields["asks"] = _depth(message.sell, message.precision)
    return fields
