"""Where a capture's quotes come from: the paper market's rows, or a broker's quotes over its stored master.

Either way the result is the same: for each underlying, its index quote and
every listed future and option of every open expiry, each with a domain
Quote, and the moment the prices are of.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from brokers.calendar import trading_day_of
from brokers.domain import Broker, DepthLevel, Quote, QuoteInstrument, QuoteKind
from brokers.market import keys
from brokers.market.quotes import instrument_quotes
from brokers.market.resolve import BROKER_COLUMNS, INDEX_SYMBOLS, index_token_is_name, instrument_from_row
from brokers.models import BrokerConnection, BrokerInstrument
from brokers.paper import catalogue, engine
from brokers.paper.models import PaperInstrument

# Each underlying's index, by Kotak's index name (brokers.market.resolve's: it knows each listing's symbols).
INDEX_NAMES = {"NIFTY": "Nifty 50", "BANKNIFTY": "Nifty Bank"}
DERIVATIVE_TYPES = ("FUT", "CE", "PE")


@dataclass(frozen=True)
class Contract:
    """A listed future or option, as capture keys its rows."""

    tradingsymbol: str
    instrument_type: str  # FUT, CE, PE
    expiry: date
    strike: Decimal | None = None


@dataclass
class Chain:
    """One underlying's quotes at one moment: its index, and each listed contract."""

    underlying: str
    priced_at: datetime
    spot: Quote | None = None
    contracts: list[tuple[Contract, Quote]] = field(default_factory=list)


def _index_symbols(underlyings: Sequence[str]) -> dict[str, str]:
    """Every trading symbol an underlying's index has in some listing -> the underlying."""
    return {symbol: underlying for underlying in underlyings if underlying in INDEX_NAMES
            for symbol in INDEX_SYMBOLS[INDEX_NAMES[underlying]]}


def paper_chains(*, underlyings: Sequence[str]) -> list[Chain]:
    """The paper market's chains as its rows stand (the prices its quotes give), priced at the market's clock."""
    tokens = [index.token for index in catalogue.INDICES if index.symbol in underlyings]
    rows = PaperInstrument.objects.filter(Q(exchange="NFO", active=True, underlying__in=underlyings)
                                          | Q(token__in=tokens))
    return paper_chains_of(rows, clock=engine.market_clock(), underlyings=underlyings)


def paper_chains_of(rows: Iterable[PaperInstrument], *, clock: datetime, underlyings: Sequence[str]) -> list[Chain]:
    """The chains in the paper market's `rows` (stored, or a replay's in memory) as its quotes give them at `clock`:
    last price, volume, open interest, and the engine's best level each side.

    That best level is the last price itself in session and none outside it
    (engine.market_depth's first level; tests hold the two together). It is
    written here rather than asked of paper_quote for every row, which builds
    five levels a side: most of a capture's time.
    """
    received_at = timezone.now()
    day = clock.astimezone(catalogue.IST).date()
    in_session = catalogue.session_is_open(clock)
    index_tokens = {index.token: index.symbol for index in catalogue.INDICES if index.symbol in underlyings}
    chains = {underlying: Chain(underlying=underlying, priced_at=clock) for underlying in underlyings}
    for row in rows:
        is_index = row.token in index_tokens
        if not is_index and not (row.exchange == "NFO" and row.underlying in chains and row.expiry >= day):
            continue
        instrument = QuoteInstrument(exchange=row.exchange, token=str(row.token), tradingsymbol=row.tradingsymbol)
        touch = (DepthLevel(price=row.last_price, quantity=0),) if in_session else ()  # capture reads prices only
        if is_index:
            chains[index_tokens[row.token]].spot = Quote(instrument=instrument, received_at=received_at,
                                                         last_price=row.last_price, exchange_timestamp=clock)
        else:
            quote = Quote(instrument=instrument, received_at=received_at, last_price=row.last_price,
                          volume=row.volume, oi=row.oi, bids=touch, asks=touch, exchange_timestamp=clock)
            contract = Contract(tradingsymbol=row.tradingsymbol, instrument_type=row.instrument_type,
                                expiry=row.expiry, strike=row.strike)
            chains[row.underlying].contracts.append((contract, quote))
    return list(chains.values())


def broker_chains(*, connection: BrokerConnection, underlyings: Sequence[str], at: datetime) -> list[Chain]:
    """The chains the broker's stored instrument master lists, priced by the adapter's quotes (one call for all:
    Kite batches 500 a request at its quote budget, Kotak 50 within the account's API budget)."""
    symbols = _index_symbols(underlyings)
    rows = list(BrokerInstrument.objects.filter(
        Q(exchange="NFO", name__in=underlyings, instrument_type__in=DERIVATIVE_TYPES, expiry__gte=trading_day_of(at))
        | Q(exchange="NSE", instrument_type="INDEX", tradingsymbol__in=list(symbols)),
        broker=connection.broker).values(*BROKER_COLUMNS))
    by_name = index_token_is_name(connection)
    resolved = [instrument_from_row(row, keys.EXCHANGE_SEGMENTS[row["exchange"]], index_by_name=by_name)
                for row in rows]
    chains = {underlying: Chain(underlying=underlying, priced_at=at) for underlying in underlyings}
    for item, quote in instrument_quotes(connection=connection, resolved=resolved, kind=QuoteKind.ALL):
        if item.is_index:
            chain = chains[symbols[item.tradingsymbol]]
            if chain.spot is None:  # a listing with two rows for an index (its two symbols): the first answer
                chain.spot = quote
        else:
            contract = Contract(tradingsymbol=item.tradingsymbol, instrument_type=item.instrument_type,
                                expiry=item.expiry, strike=item.strike if item.instrument_type != "FUT" else None)
            chains[item.name].contracts.append((contract, quote))
    return list(chains.values())


def source_name(connection: BrokerConnection | None) -> str:
    return Broker.PAPER.value if connection is None else connection.broker
