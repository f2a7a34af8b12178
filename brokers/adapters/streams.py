"""A broker's market-data stream, as every adapter that has one exposes it.

The market-feed process (brokers/market/feed.py) is the only caller. It opens
a stream with `async with adapter.market_stream() as stream`, tells it what to
carry (`subscribe` with the highest mode any socket asked for, `unsubscribe`
when no socket wants an instrument any more), and reads `TickPush`es and
`FeedStatusPush`es from it (`async for push in stream`) until the stream ends
(the broker closed it, or the connection dropped and the SDK gave up). The
feed decides about silence, reconnection and resubscription; a stream only
streams. What the broker sends is turned into pushes by its mapping.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from brokers.market.keys import StreamMode
from brokers.pushes import Push


@dataclass(frozen=True)
class StreamInstrument:
    """An instrument to stream: BudhiTrade's exchange name and the broker's token (Kite's instrument_token,
    Kotak's pSymbol or, for an index, Kotak's index name; the paper market's token)."""

    exchange: str  # NSE, BSE, NFO, BFO, CDS, MCX
    token: str
    is_index: bool = False


class MarketStream(ABC):
    """One upstream market-data connection: at most `max_instruments` instruments at once."""

    max_instruments: int = 3000

    async def __aenter__(self) -> "MarketStream":
        await self.open()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @abstractmethod
    async def open(self) -> None:
        """Connect (BrokerSessionExpired when the broker refuses the session, BrokerUnavailable when unreachable)."""

    @abstractmethod
    async def close(self) -> None:
        """Disconnect; safe to call twice and after the stream ended."""

    @abstractmethod
    async def subscribe(self, instruments: Sequence[StreamInstrument], mode: StreamMode) -> None:
        """Carry these instruments at `mode` from now on (an instrument already carried moves to `mode`)."""

    @abstractmethod
    async def unsubscribe(self, instruments: Sequence[StreamInstrument]) -> None:
        """Stop carrying these instruments."""

    @abstractmethod
    def __aiter__(self) -> AsyncIterator[Push]:
        """TickPush for each instrument's new value, FeedStatusPush for the stream's own news, until it ends."""
