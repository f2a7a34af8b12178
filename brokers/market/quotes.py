"""Quotes for resolved instruments, asked of "the" account's broker (or the paper market) the way every broker
call is made: the account's API budget first, a session the broker finds expired marks the account."""

from __future__ import annotations

from django.utils import timezone

from brokers.adapters.base import BrokerSessionExpired
from brokers.adapters.paper.adapter import PaperAdapter
from brokers.adapters.registry import adapter_for
from brokers.budgets import connection_call_wait
from brokers.domain import ConnectionStatus, Quote, QuoteKind
from brokers.market.keys import StreamMode
from brokers.market.render import SCRIP_KINDS, quote_data
from brokers.market.resolve import ResolvedInstrument
from brokers.models import BrokerConnection
from brokers.services import connection_expire
from budhitrade.errors import Conflict

# The quote call that carries a stream mode's fields.
MODE_KINDS = {StreamMode.LTP: QuoteKind.LTP, StreamMode.QUOTE: QuoteKind.ALL, StreamMode.DEPTH: QuoteKind.ALL}


def instrument_quotes(*, connection: BrokerConnection | None, resolved: list[ResolvedInstrument],
                      kind: QuoteKind | None = None,
                      mode: StreamMode = StreamMode.DEPTH) -> list[tuple[ResolvedInstrument, Quote]]:
    """Each instrument the broker priced, with its quote, in the order asked; `connection` None is the paper market.

    `kind` is the quote call (seed 002's quote_type); by default the one a stream mode needs.
    """
    if not resolved:
        return []
    kind = kind or MODE_KINDS[mode]
    if connection is None:
        adapter = PaperAdapter(credentials={}, session={})
    else:
        if connection.status != ConnectionStatus.CONNECTED:
            raise Conflict(f"This account is not connected (status: {connection.status}); reconnect it first.")
        connection_call_wait(connection=connection)
        adapter = adapter_for(connection)
    try:
        quotes = adapter.quotes([item.quote_instrument() for item in resolved], kind)
    except BrokerSessionExpired as error:
        connection_expire(connection=connection, reason=error.detail)
        raise
    by_token = {(quote.instrument.exchange, quote.instrument.token): quote for quote in quotes}
    by_symbol = {(quote.instrument.exchange, quote.instrument.tradingsymbol): quote for quote in quotes}
    found = []
    for item in resolved:
        quote = by_token.get((item.exchange, item.token)) or by_symbol.get((item.exchange, item.tradingsymbol))
        if quote is not None:
            found.append((item, quote))
    return found


def quotes_rendered(*, connection: BrokerConnection | None, resolved: list[ResolvedInstrument],
                    kind: QuoteKind) -> tuple[list[dict], int]:
    """Each instrument's quote in the one market-data shape, in the order asked, and how many the broker priced:
    an instrument it did not price keeps its place, with nothing in it."""
    priced = {item.key: quote for item, quote in instrument_quotes(connection=connection, resolved=resolved, kind=kind)}
    received_at = timezone.now()
    data = [quote_data(priced.get(item.key) or Quote(instrument=item.quote_instrument(), received_at=received_at),
                       segment=item.segment, kind=kind, token=item.token,
                       scrip=item.scrip() if kind in SCRIP_KINDS else None)
            for item in resolved]
    return data, len(priced)
