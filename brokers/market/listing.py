"""Reads of the instrument listing a market request means: the scrip master and the instrument search.

The listing is the one `resolve` uses, so what the scrip master and the
search show is what quotes and the market socket take: the paper exchange's
own (active instruments) for the paper market, else the stored master of the
account's broker. Rows come out in one shape (`render.instrument_row`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Upper

from brokers.lookup import connection_from_request
from brokers.market import keys
from brokers.market.resolve import BROKER_COLUMNS, PAPER_COLUMNS, index_token_is_name, instrument_from_row, stream_for
from brokers.models import BrokerConnection, BrokerInstrument
from brokers.selectors import connection_resolve
from brokers.paper.models import PaperInstrument
from budhitrade.errors import InvalidInput, NotFound


def market_connection(request, *, resolve=connection_resolve) -> BrokerConnection | None:
    """ "The" account of a market request (X-Account-ID, ?broker=, ?connection_id=, else the only one; `resolve`
    picks it); None, the paper market, for a user with no account at all. An account named but not found is still
    a 404."""
    try:
        return connection_from_request(request, resolve=resolve)
    except NotFound:
        named = (request.headers.get("X-Account-ID", "").strip() or request.query_params.get("broker", "").strip()
                 or request.query_params.get("connection_id", "").strip())
        if named:
            raise
        return None


def segment_exchange(segment: str | None) -> str | None:
    """BudhiTrade's exchange for a `?exchange_segment=` (Kotak's name, any case); None when not given."""
    if segment is None or not segment.strip():
        return None
    exchange = keys.SEGMENT_EXCHANGES.get(segment.strip().lower())
    if exchange is None:
        raise InvalidInput(f"Unknown exchange_segment {segment.strip()!r}; use one of "
                           f"{', '.join(keys.SEGMENT_EXCHANGES)}.", errors={"exchange_segment": ["Unknown segment."]})
    return exchange


@dataclass(frozen=True)
class Listing:
    """One listing's rows and how its rows become instruments."""

    rows: QuerySet
    columns: tuple[str, ...]
    index_by_name: bool

    def instruments(self, rows) -> list[dict]:
        """Rows (`values()` of `columns`) as `instrument_row`s, named as clients name them."""
        return [instrument_from_row(row, keys.EXCHANGE_SEGMENTS[row["exchange"]],
                                    index_by_name=self.index_by_name).scrip()
                for row in rows if row["exchange"] in keys.EXCHANGE_SEGMENTS]


def listing_for(connection: BrokerConnection | None, *, exchange: str | None = None) -> Listing:
    """The listing the connection's stream prices (None: the paper market), on one exchange or on all."""
    if stream_for(connection) == keys.PAPER_STREAM:
        rows, columns = PaperInstrument.objects.filter(active=True), PAPER_COLUMNS
    else:
        rows, columns = BrokerInstrument.objects.filter(broker=connection.broker), BROKER_COLUMNS
    if exchange is None:
        rows = rows.filter(exchange__in=keys.EXCHANGE_SEGMENTS.keys())
    else:
        rows = rows.filter(exchange=exchange)
    return Listing(rows=rows, columns=columns, index_by_name=index_token_is_name(connection))


def instrument_page(*, connection: BrokerConnection | None, exchange: str | None, offset: int,
                    limit: int) -> tuple[int, list[dict]]:
    """(how many the listing has, one page of it in exchange and symbol order)."""
    listing = listing_for(connection, exchange=exchange)
    total = listing.rows.count()
    page = listing.rows.order_by("exchange", "tradingsymbol").values(*listing.columns)[offset:offset + limit]
    return total, listing.instruments(page)


def instrument_search(*, connection: BrokerConnection | None, query: str, exchange: str | None, offset: int,
                      limit: int) -> list[dict]:
    """Instruments whose symbol or name holds `query` (any case): symbols starting with it first (alphabetical),
    then names starting with it, then the rest that contain it.

    Two queries at most, each on its own index of a broker's master: the
    symbol prefix (a btree range scan in symbol order, which usually fills the
    page alone) and, only when the page is not full, the contains search
    (trigram indexes on symbol and name).
    """
    listing = listing_for(connection, exchange=exchange)
    wanted = offset + limit
    prefix = (listing.rows.filter(tradingsymbol__istartswith=query)
              .order_by(Upper("tradingsymbol"), "exchange").values(*listing.columns)[:wanted])
    rows = list(prefix)
    if len(rows) < wanted:
        rank = Case(When(name__istartswith=query, then=Value(0)), default=Value(1), output_field=IntegerField())
        rest = listing.rows.filter(Q(tradingsymbol__icontains=query) | Q(name__icontains=query))
        rest = (rest.exclude(tradingsymbol__istartswith=query).annotate(rank=rank)
                .order_by("rank", Upper("tradingsymbol"), "exchange").values(*listing.columns))
        rows += list(rest[:wanted - len(rows)])
    return listing.instruments(rows[offset:])
