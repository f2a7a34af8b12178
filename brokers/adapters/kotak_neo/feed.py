"""Kotak Neo's market feed as a MarketStream: the SDK's SFeed WebSocket (NeoAPI.create_websocket).

One stream is one SFeed connection for one session, signed in with the
session's UCC and trade sid, carrying at most 3,000 instruments. Each
instrument rides one SDK channel at a time, chosen by its mode: the mini
touch line (`subscribeScripsLite`) for LTP, the touch line
(`subscribeScrips`) for QUOTE, depth (`subscribeDepth`) for DEPTH, and the
index channel (`subscribeIndices`, the index's name as its token) for an
index at any mode. A mode change unsubscribes the old channel before it
subscribes the new one, so the SDK's 3,000-token count never holds an
instrument twice and the old channel's last packets arrive before the new one's.

The SDK's own retries and reconnects are off (`max_connect_retries=0`,
`max_reconnect_attempts=0`): when the connection drops the stream ends, and
the market-feed process opens a new one from the session as stored then
(a reconnected account's new sid), resubscribing what it carries.

This module talks to the SFeed SDK directly (its socket, WsToken, its
errors), as client.py does for the REST SDK; client.py creates the socket
and mapping.ticks reads its messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from django.utils import timezone
from neo_api_client.websocket.feed import SFeedWebSocket, WsToken
from neo_api_client.websocket.feed.exceptions import (
    AuthenticationError,
    ConnectionError as FeedConnectionError,
    NotConnectedError,
    SubscriptionError,
)

from brokers.adapters.base import BrokerError, BrokerSessionExpired, BrokerTimeout, BrokerUnavailable
from brokers.adapters.kotak_neo import mapping
from brokers.adapters.kotak_neo.client import KotakNeoClient
from brokers.adapters.streams import MarketStream, StreamInstrument
from brokers.market.keys import StreamMode
from brokers.pushes import Push, TickPush


class KotakNeoMarketStream(MarketStream):
    """One SFeed connection for one Kotak Neo session; its pushes are each instrument's merged latest Quote."""

    max_instruments = 3000

    def __init__(self, *, client: KotakNeoClient, url: str | None = None) -> None:
        self._client = client
        self._url = url
        self._socket: SFeedWebSocket | None = None
        self._book = mapping.TickBook()
        self._channels: dict[tuple[str, str], str] = {}  # (segment, token) -> the SDK channel it rides on
        self._changing = asyncio.Lock()

    async def open(self) -> None:
        """Connect and sign in: BrokerSessionExpired when the feed refuses the session, BrokerUnavailable when
        it cannot be reached, BrokerTimeout when it never answers the sign-in."""
        if self._socket is not None:
            raise BrokerError("The Kotak Neo market feed is already open.")
        socket = self._client.market_feed(url=self._url, max_subscriptions=self.max_instruments)
        try:
            await socket.connect()
        except AuthenticationError as error:
            await socket.close()
            if isinstance(error.__context__, TimeoutError):  # "Authentication timeout", raised from None
                raise BrokerTimeout("Kotak Neo's market feed did not answer the sign-in.") from error
            raise BrokerSessionExpired("The Kotak Neo session has expired; reconnect the account.") from error
        except FeedConnectionError as error:
            raise BrokerUnavailable("Kotak Neo's market feed cannot be reached.") from error
        self._socket = socket

    async def close(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            await socket.close()

    async def subscribe(self, instruments: Sequence[StreamInstrument], mode: StreamMode) -> None:
        """subscribe_scrips_lite / subscribe_scrips / subscribe_depth / subscribe_index, after unsubscribing the
        channel an instrument rode on before; more than 3,000 instruments is a BrokerError and sends nothing."""
        async with self._changing:
            socket = self._connected()
            leaving: dict[str, list[WsToken]] = {}
            joining: dict[str, list[WsToken]] = {}
            moved: dict[tuple[str, str], str] = {}
            for instrument in instruments:
                key = mapping.stream_token_to_wire(instrument)
                channel = mapping.feed_intent(instrument, mode)
                current = self._channels.get(key)
                if current == channel:
                    continue
                if current is not None:
                    leaving.setdefault(current, []).append(WsToken(*key))
                joining.setdefault(channel, []).append(WsToken(*key))
                moved[key] = channel
            carried = len(self._channels.keys() | moved.keys())
            if carried > self.max_instruments:
                raise BrokerError(f"A Kotak Neo market feed carries at most {self.max_instruments} instruments "
                                  f"({carried} asked).")
            # Carried before the frames go: the first packets may arrive before the SDK's call returns.
            for instrument in instruments:
                self._book.carry(instrument, mode)
            for channel, tokens in leaving.items():
                await self._send(getattr(socket, f"unsubscribe_{channel}"), tokens)
            for channel, tokens in joining.items():
                await self._send(getattr(socket, f"subscribe_{channel}"), tokens)
            self._channels.update(moved)

    async def unsubscribe(self, instruments: Sequence[StreamInstrument]) -> None:
        """unsubscribe_<channel> for each instrument carried; one not carried is nothing to do."""
        async with self._changing:
            socket = self._connected()
            leaving: dict[str, list[WsToken]] = {}
            for instrument in instruments:
                key = mapping.stream_token_to_wire(instrument)
                current = self._channels.pop(key, None)
                self._book.drop(instrument)
                if current is not None:
                    leaving.setdefault(current, []).append(WsToken(*key))
            for channel, tokens in leaving.items():
                await self._send(getattr(socket, f"unsubscribe_{channel}"), tokens)

    def __aiter__(self) -> AsyncIterator[Push]:
        return self._pushes()

    async def _pushes(self) -> AsyncIterator[Push]:
        """A TickPush for each packet of a carried instrument, until the connection ends or is closed."""
        socket = self._socket
        if socket is None:
            return
        try:
            async for message in socket:
                quote = self._book.merge(message, received_at=timezone.now())
                if quote is not None:
                    yield TickPush(quote=quote)
        except NotConnectedError:  # closed before the first read
            return

    def _connected(self) -> SFeedWebSocket:
        if self._socket is None or not self._socket.is_connected:
            raise BrokerUnavailable("Kotak Neo's market feed is not connected.")
        return self._socket

    @staticmethod
    async def _send(call, tokens: list[WsToken]) -> None:
        try:
            await call(tokens)
        except NotConnectedError as error:
            raise BrokerUnavailable("Kotak Neo's market feed is not connected.") from error
        except SubscriptionError as error:
            if error.__cause__ is not None:  # the frame could not be sent: the connection is gone
                raise BrokerUnavailable("Kotak Neo's market feed dropped the connection.") from error
            raise BrokerError(f"Kotak Neo's market feed refused the subscription: {error}") from error
