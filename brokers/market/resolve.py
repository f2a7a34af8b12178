"""What a client's `{instrument_token, exchange_segment}` means: one instrument of the listing its stream prices.

A client names instruments as seed 002 does, in Kotak's segment names for
every broker, by the broker's token (or, for an index, also by Kotak's index
name: `Nifty 50`, `Nifty Bank`). Which listing answers is the stream's: the
paper exchange's own for the paper market, else the broker's stored master
(BrokerInstrument). The listing, not the client, decides what an instrument
is: an INDEX row is an index whatever `isIndex` said. Every instrument of a
request is found in one query, and an unknown one is a 400 naming it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Q

from brokers.adapters.registry import adapter_class
from brokers.adapters.streams import StreamInstrument
from brokers.domain import QuoteInstrument
from brokers.market import keys
from brokers.market.render import instrument_row
from brokers.models import BrokerConnection, BrokerInstrument
from brokers.paper.models import PaperInstrument
from budhitrade.errors import InvalidInput

# Kotak's index names (its quotes and feed take an index by name), case-insensitive, and the trading symbols
# the same index has in each listing: the paper exchange's and Kite's `NIFTY 50`, Kotak's scrip master `NIFTY`.
INDEX_NAMES: dict[str, str] = {"nifty 50": "Nifty 50", "nifty bank": "Nifty Bank"}
INDEX_SYMBOLS: dict[str, tuple[str, ...]] = {
    "Nifty 50": ("NIFTY 50", "NIFTY"),
    "Nifty Bank": ("NIFTY BANK", "BANKNIFTY"),
}
INDEX_NAME_OF_SYMBOL: dict[str, str] = {symbol: name for name, symbols in INDEX_SYMBOLS.items() for symbol in symbols}
INDEX_EXCHANGE = "NSE"
TOKEN_LENGTH = 64


@dataclass(frozen=True)
class ResolvedInstrument:
    """One instrument a client named, as its stream's listing has it; `token` is the broker's (canonical)."""

    segment: str  # Kotak's name: nse_cm, nse_fo, ...
    exchange: str  # BudhiTrade's: NSE, NFO, ...
    token: str
    is_index: bool = False
    tradingsymbol: str = ""
    key: str = field(init=False)
    name: str = field(default="", compare=False)
    instrument_type: str = field(default="", compare=False)
    isin: str = field(default="", compare=False)
    expiry: date | None = field(default=None, compare=False)
    strike: Decimal | None = field(default=None, compare=False)
    lot_size: int | None = field(default=None, compare=False)
    tick_size: Decimal | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", keys.instrument_key(self.segment, self.token))

    def stream_instrument(self) -> StreamInstrument:
        return StreamInstrument(exchange=self.exchange, token=self.token, is_index=self.is_index)

    def quote_instrument(self) -> QuoteInstrument:
        return QuoteInstrument(exchange=self.exchange, token=self.token, tradingsymbol=self.tradingsymbol)

    def scrip(self) -> dict[str, Any]:
        """The instrument's row as the scrip master shows it."""
        return instrument_row(token=self.token, segment=self.segment, tradingsymbol=self.tradingsymbol,
                              name=self.name, isin=self.isin, instrument_type=self.instrument_type,
                              expiry=self.expiry, strike=self.strike, lot_size=self.lot_size,
                              tick_size=self.tick_size)


def stream_for(connection: BrokerConnection | None) -> str:
    """Whose market data a connection streams: the paper market's (everyone's), else the connection's own."""
    if connection is None or adapter_class(connection.broker).market_data_shared:
        return keys.PAPER_STREAM
    return str(connection.pk)


def index_token_is_name(connection: BrokerConnection | None) -> bool:
    """Whether the connection's listing names an index by Kotak's name (its quotes and feed take no index token)."""
    if stream_for(connection) == keys.PAPER_STREAM:
        return False
    return adapter_class(connection.broker).index_token_is_name


@dataclass(frozen=True)
class _Asked:
    segment: str
    exchange: str
    token: str  # as the client sent it, stripped
    index_name: str  # Kotak's index name when the token is one, else ""


def _asked(items: Any) -> list[_Asked]:
    """The client's list, checked: objects with a string or integer token and a known segment."""
    if not isinstance(items, list):
        raise InvalidInput("instrument_tokens must be a list of {instrument_token, exchange_segment} objects.")
    asked = []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise InvalidInput(f"instrument_tokens[{position}] must be an object with instrument_token and "
                               "exchange_segment.")
        token, segment = item.get("instrument_token"), item.get("exchange_segment")
        if isinstance(token, bool) or not isinstance(token, (str, int)) or not str(token).strip():
            raise InvalidInput(f"instrument_tokens[{position}].instrument_token must be a token (string or number).")
        token = str(token).strip()
        if len(token) > TOKEN_LENGTH:
            raise InvalidInput(f"instrument_tokens[{position}].instrument_token is too long.")
        if not isinstance(segment, str) or segment.strip().lower() not in keys.SEGMENT_EXCHANGES:
            raise InvalidInput(f"Unknown exchange_segment {segment!r} in instrument_tokens[{position}]; use one of "
                               f"{', '.join(keys.SEGMENT_EXCHANGES)}.")
        segment = segment.strip().lower()
        exchange = keys.SEGMENT_EXCHANGES[segment]
        index_name = INDEX_NAMES.get(token.lower(), "") if exchange == INDEX_EXCHANGE else ""
        asked.append(_Asked(segment=segment, exchange=exchange, token=token, index_name=index_name))
    return asked


def _wanted(asked: Iterable[_Asked], *, numeric_tokens: bool) -> Q:
    """One filter for every instrument asked: tokens by exchange, and the index rows that Kotak's names mean."""
    tokens: dict[str, set] = {}
    symbols: set[str] = set()
    for item in asked:
        if item.index_name:
            symbols.update(INDEX_SYMBOLS[item.index_name])
        elif not numeric_tokens:
            tokens.setdefault(item.exchange, set()).add(item.token)
        elif item.token.isdigit():
            tokens.setdefault(item.exchange, set()).add(int(item.token))
    wanted = Q(pk__in=[])
    for exchange, listed in tokens.items():
        wanted |= Q(exchange=exchange, token__in=sorted(listed))
    if symbols:
        wanted |= Q(exchange=INDEX_EXCHANGE, instrument_type="INDEX", tradingsymbol__in=sorted(symbols))
    return wanted


PAPER_COLUMNS = ("exchange", "token", "tradingsymbol", "name", "instrument_type", "isin", "expiry", "strike",
                 "lot_size", "tick_size")
BROKER_COLUMNS = ("exchange", "token", "tradingsymbol", "name", "instrument_type", "expiry", "strike",
                  "lot_size", "tick_size")


def _rows(connection: BrokerConnection | None, asked: Sequence[_Asked]) -> tuple[list[dict], bool, bool]:
    """The listing's rows for what was asked (one query), whether its tokens are numbers (the paper exchange's),
    and whether its indices go by Kotak's name."""
    if stream_for(connection) == keys.PAPER_STREAM:
        wanted = _wanted(asked, numeric_tokens=True)
        return list(PaperInstrument.objects.filter(wanted).values(*PAPER_COLUMNS)), True, False
    rows = BrokerInstrument.objects.filter(_wanted(asked, numeric_tokens=False), broker=connection.broker)
    return list(rows.values(*BROKER_COLUMNS)), False, index_token_is_name(connection)


def instrument_from_row(row: dict, segment: str, *, index_by_name: bool) -> ResolvedInstrument:
    """A listing row (`values()` of PAPER_COLUMNS or BROKER_COLUMNS) as the instrument clients name."""
    is_index = row["instrument_type"] == "INDEX"
    token = str(row["token"])
    if is_index and index_by_name:
        token = INDEX_NAME_OF_SYMBOL.get(row["tradingsymbol"], token)
    return ResolvedInstrument(
        segment=segment, exchange=row["exchange"], token=token, is_index=is_index,
        tradingsymbol=row["tradingsymbol"], name=row["name"], instrument_type=row["instrument_type"],
        isin=row.get("isin") or "", expiry=row["expiry"], strike=row["strike"], lot_size=row["lot_size"],
        tick_size=row["tick_size"] if not is_index else None,
    )


def _unknown(missing: list[_Asked]) -> InvalidInput:
    named = [f"{item.token} on {item.segment}" for item in missing]
    shown = ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "")
    return InvalidInput(f"Unknown instrument{'s' if len(named) > 1 else ''} {shown}.",
                        errors={"instrument_tokens": [f"Unknown instrument {name}." for name in named[:20]]})


def resolve_instruments(*, connection: BrokerConnection | None, items: Any,
                        is_index: bool = False) -> list[ResolvedInstrument]:
    """Each item, in the order given, as the stream's listing has it; InvalidInput naming any it does not list.

    `is_index` is what the client said (seed 002's `isIndex`); the listing's own instrument type decides, since
    an index subscribed as an equity (or the other way) would stream nothing.
    """
    asked = _asked(items)
    if not asked:
        return []
    rows, numeric, index_by_name = _rows(connection, asked)
    by_token = {(row["exchange"], str(row["token"])): row for row in rows}
    by_symbol = {row["tradingsymbol"]: row for row in rows if row["instrument_type"] == "INDEX"}
    found, missing = [], []
    for item in asked:
        if item.index_name:
            row = next((by_symbol[s] for s in INDEX_SYMBOLS[item.index_name] if s in by_symbol), None)
        else:
            token = str(int(item.token)) if numeric and item.token.isdigit() else item.token
            row = by_token.get((item.exchange, token))
        if row is None:
            missing.append(item)
        else:
            found.append(instrument_from_row(row, item.segment, index_by_name=index_by_name))
    if missing:
        raise _unknown(missing)
    return found
