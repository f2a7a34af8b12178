"""The paper market's stream: what the paper exchange's rows say now, as ticks, for the instruments subscribed.

The paper market lives in the database (brokers/paper/market.py advances it),
so its stream polls: every PAPER_STREAM_INTERVAL_SECONDS one query reads the
subscribed PaperInstrument rows (and the market clock), and the stream yields
a TickPush for each instrument whose value at its mode changed since the last
one it yielded (last price; and the day's prices, volume, OI at QUOTE; and
the market clock, which moves the engine's depth, at DEPTH), and once for an
instrument just subscribed, whatever it is. A poll that finds the market's
clock moved but nothing shown changed yields a heartbeat (FeedStatusPush up),
so a quiet instrument is not taken for a dead stream; a market that does not
advance yields nothing at all, and the feed, not the stream, calls that
silence.

Database calls run through channels' database_sync_to_async, which closes
stale connections before and after each call, so a PostgreSQL restart costs
the polls that fail (logged once) and nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace

from channels.db import database_sync_to_async
from django.conf import settings
from django.db.models import Subquery
from django.utils import timezone

from brokers.adapters.paper.quote import paper_quote  # the adapter's own quote, so a tick and a quote agree
from brokers.adapters.streams import MarketStream, StreamInstrument
from brokers.domain import QuoteInstrument, QuoteKind
from brokers.market.keys import StreamMode
from brokers.paper.models import PaperInstrument, PaperMarket
from brokers.pushes import FeedState, FeedStatusPush, Push, TickPush
from budhitrade.cancel import cancel_kept
from budhitrade.logging import OutageLog

logger = logging.getLogger("budhitrade.market")
_outage = OutageLog(logger, "paper_stream_read_failed")

# What paper_quote reads of a row, and nothing else (values(), not whole model instances).
_FIELDS = ("token", "exchange", "instrument_type", "lot_size", "tick_size", "last_price", "open_price", "high_price",
           "low_price", "close_price", "volume", "oi")
_KINDS = {StreamMode.LTP: QuoteKind.LTP, StreamMode.QUOTE: QuoteKind.ALL, StreamMode.DEPTH: QuoteKind.ALL}


def _rows(tokens: list[int]) -> list[dict]:
    """The subscribed rows with the market clock, in one query."""
    clock = PaperMarket.objects.filter(pk=1).values("clock_at")[:1]
    return list(PaperInstrument.objects.filter(token__in=tokens).annotate(clock=Subquery(clock))
                .values(*_FIELDS, "clock"))


def _signature(row: dict, mode: StreamMode) -> tuple:
    """What a tick at `mode` shows of the row: a tick is yielded when this changes."""
    if mode == StreamMode.LTP:
        return (row["last_price"],)
    shown = (row["last_price"], row["open_price"], row["high_price"], row["low_price"], row["close_price"],
             row["volume"], row["oi"])
    return shown + (row["clock"],) if mode == StreamMode.DEPTH else shown


class PaperMarketStream(MarketStream):
    """The paper market's ticks, shared by every user: it has no session to open and no limit worth the name."""

    max_instruments = 100_000

    def __init__(self) -> None:
        self._modes: dict[str, StreamMode] = {}  # token -> mode
        self._exchanges: dict[str, str] = {}  # token -> the exchange it was subscribed on
        self._shown: dict[str, tuple] = {}  # token -> the signature of the last tick yielded
        self._clock = None  # the market clock at the last poll
        self._wake = asyncio.Event()
        self._open = False

    async def open(self) -> None:
        self._open = True

    async def close(self) -> None:
        self._open = False
        self._wake.set()

    async def subscribe(self, instruments: Sequence[StreamInstrument], mode: StreamMode) -> None:
        """Carry them at `mode`; each one's current value comes at the next poll, which starts at once."""
        for instrument in instruments:
            if not instrument.token.isdigit():  # the paper market's tokens are numbers; nothing else can tick
                continue
            self._modes[instrument.token] = mode
            self._exchanges[instrument.token] = instrument.exchange
            self._shown.pop(instrument.token, None)
        self._wake.set()

    async def unsubscribe(self, instruments: Sequence[StreamInstrument]) -> None:
        for instrument in instruments:
            self._modes.pop(instrument.token, None)
            self._exchanges.pop(instrument.token, None)
            self._shown.pop(instrument.token, None)

    def __aiter__(self) -> AsyncIterator[Push]:
        return self._ticks()

    async def _ticks(self) -> AsyncIterator[Push]:
        while self._open:
            for push in await self.poll():
                yield push
            try:  # asyncio.timeout, not wait_for, which on Python 3.11 can lose a cancel
                async with asyncio.timeout(settings.PAPER_STREAM_INTERVAL_SECONDS):
                    await self._wake.wait()
            except TimeoutError:
                cancel_kept()
            self._wake.clear()

    async def poll(self) -> list[Push]:
        """A tick for each subscribed instrument whose shown value changed (or was never shown); a heartbeat
        when none did but the market's clock moved."""
        if not self._modes:
            return []
        modes = dict(self._modes)
        try:
            rows = await database_sync_to_async(_rows)([int(token) for token in modes])
        except Exception:  # the database is away: no ticks until it is back (the feed sees the silence)
            _outage.failed()
            return []
        _outage.succeeded()
        received_at = timezone.now()
        pushes: list[Push] = []
        clock, self._clock = self._clock, next((row["clock"] for row in rows), self._clock)
        for row in rows:
            token = str(row["token"])
            mode = self._modes.get(token)  # unsubscribed while the query ran: nothing
            if mode is None or row["clock"] is None or row["exchange"] != self._exchanges.get(token):
                continue
            shown = _signature(row, mode)
            if self._shown.get(token) == shown:
                continue
            self._shown[token] = shown
            pushes.append(TickPush(quote=_tick_quote(row, mode, received_at)))
        if not pushes and clock is not None and self._clock != clock:
            pushes.append(FeedStatusPush(state=FeedState.UP))
        return pushes


def _tick_quote(row: dict, mode: StreamMode, received_at):
    fields = {name: row[name] for name in _FIELDS}
    instrument = PaperInstrument(**fields)
    quote = paper_quote(QuoteInstrument(exchange=row["exchange"], token=str(row["token"])), instrument,
                   kind=_KINDS[mode], received_at=received_at, clock=row["clock"])
    if mode < StreamMode.DEPTH:  # the engine's depth only where it was asked for
        quote = replace(quote, bids=(), asks=(), buy_quantity=None, sell_quantity=None)
    return quote
