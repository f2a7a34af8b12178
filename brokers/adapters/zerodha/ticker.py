"""Kite's market ticker as a MarketStream, through kiteconnect's own KiteTicker (the only streaming caller of it).

Threads. KiteTicker runs on Twisted's reactor, in a thread of its own
(brokers/adapters/zerodha/reactor.py); every KiteTicker call is made there
(`reactor.callFromThread`) and its callbacks hand their news to the stream's
event loop (`loop.call_soon_threadsafe`), so the stream's state and its
pushes live on the loop alone.

Waits are bounded with `asyncio.timeout`, never `asyncio.wait_for`: on
Python 3.11 wait_for returns (or raises) the awaited result when the
cancellation arrives as it completes, losing the cancel, and the feed's stop
then waits on a runner that carries on. A stream cancelled while connecting
stops KiteTicker's connection attempt and drops its socket.

Reconnection is the feed's, not KiteTicker's (`reconnect_max_tries=0`): Kite
refuses yesterday's access token at the handshake (HTTP 403), so only a
reconnect that rereads the stored session can recover, and the feed is the
one place that resubscribes. A stream therefore ends when its connection
does, after a FeedStatusPush(DOWN).

Liveness is the feed's to judge (brokers/market/feed_runner.py: no fresh
tick and no heartbeat for MARKET_FEED_STALE_SECONDS is stale, and reopened
from the stored session). KiteTicker sends no pings, and a socket Kite has
given up on can stay open and send nothing. Where nothing trades Kite sends
a 1-byte heartbeat every second or two (KiteTicker keeps those frames from
`on_ticks`; `on_message` sees them): each is passed on as FeedStatusPush(UP,
HEARTBEAT), alive but not `up` (only a fresh tick says that), so a quiet
instrument is not silence. The daily token change closes the socket on
Kite's side (the stream ends); open but sending neither is the dead socket.

Ticks are conflated per instrument while the feed has not read them: a new
tick replaces the unread one in its place in the queue, so the queue holds at
most one tick per instrument, and never an older value after a newer; an
unread heartbeat is not repeated.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from kiteconnect import KiteTicker

from brokers.adapters.base import BrokerError, BrokerSessionExpired, BrokerUnavailable
from brokers.adapters.streams import MarketStream, StreamInstrument
from brokers.adapters.wiremap import unknown_value_seen
from brokers.adapters.zerodha.mapping.ticks import MODES, quote_from_tick, tick_exchange, tick_token
from brokers.adapters.zerodha.reactor import install_reactor
from brokers.domain import Broker
from brokers.market.keys import StreamMode
from brokers.pushes import FeedState, FeedStatusPush, Push, TickPush
from budhitrade.cancel import cancel_kept

logger = logging.getLogger(__name__)

# autobahn's reason for a refused handshake: "WebSocket connection upgrade failed [403]: Forbidden" (older
# autobahn: "(403 - Forbidden)"). Kite answers 403 to a bad API key or an expired or revoked access token.
_UPGRADE_FAILED = re.compile(r"upgrade failed\W*(\d{3})")
_SESSION_REFUSED = {401, 403}
# A binary frame too short to hold a packet (KiteTicker hands `on_ticks` only longer ones): Kite's heartbeat.
_HEARTBEAT_BYTES = 4
HEARTBEAT = "Kite's heartbeat: the connection is alive."


class ZerodhaMarketStream(MarketStream):
    """One connection to Kite's ticker for one session: 3,000 instruments (Kite allows 3 a key)."""

    max_instruments = 3000

    def __init__(self, *, api_key: str, access_token: str, root: str | None = None,
                 timeout: float | None = None) -> None:
        self._api_key = api_key
        self._access_token = access_token
        self._root = root
        self._timeout = float(timeout if timeout is not None else settings.BROKER_TIMEOUT_SECONDS)
        self._ticker: KiteTicker | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opened: asyncio.Future | None = None
        self._socket_closed: asyncio.Future | None = None
        self._close_reason = ""
        self._started = self._up = self._ended = False
        self._instruments: dict[int, StreamInstrument] = {}
        self._pending: OrderedDict[tuple[str, int], Push] = OrderedDict()
        self._statuses = itertools.count()
        self._wake = asyncio.Event()

    # --- MarketStream ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect to Kite's ticker (wss://ws.kite.trade?api_key=…&access_token=…) and wait for the socket."""
        if self._started:
            raise BrokerError("A Kite ticker stream opens once; make a new one to reconnect.")
        self._started = True
        if not self._access_token:
            self._ended = True
            raise BrokerSessionExpired("The Zerodha session has no access token; reconnect the account.")
        install_reactor()
        self._loop = asyncio.get_running_loop()
        self._opened, self._socket_closed = self._loop.create_future(), self._loop.create_future()
        ticker = KiteTicker(self._api_key, self._access_token, root=self._root, reconnect_max_tries=0,
                            connect_timeout=max(1, round(self._timeout)))
        ticker.on_open = lambda ws: self._post(self._socket_opened)
        ticker.on_ticks = lambda ws, ticks: self._post(self._ticks_arrived, ticks, timezone.now())
        ticker.on_message = self._message_arrived
        ticker.on_error = lambda ws, code, reason: self._post(self._socket_error, code, str(reason or ""))
        ticker.on_close = lambda ws, code, reason: self._post(self._socket_gone, code, str(reason or ""))
        ticker.on_noreconnect = lambda ws: self._post(self._socket_gone, None, "")
        self._ticker = ticker
        try:
            await self._in_reactor(ticker.connect)
            async with asyncio.timeout(2 * self._timeout):
                await asyncio.shield(self._opened)
        except TimeoutError:
            await self.close()
            cancel_kept()
            raise BrokerUnavailable("Kite's ticker did not answer in time.") from None
        except BrokerError:
            self._end()
            raise
        except asyncio.CancelledError:  # the feed let go while connecting: leave no socket in the reactor
            self._end()
            self._call_in_reactor(self._abandon)
            raise

    async def close(self) -> None:
        """Close the socket (a WebSocket close, dropped if Kite does not answer it); ends the iteration now."""
        self._end(discard=True)
        if self._ticker is None or self._socket_closed is None or self._socket_closed.done():
            return
        try:
            await self._in_reactor(self._ticker.close)
            async with asyncio.timeout(self._timeout):
                await asyncio.shield(self._socket_closed)
        except (TimeoutError, BrokerError):
            self._call_in_reactor(self._drop)

    async def subscribe(self, instruments: Sequence[StreamInstrument], mode: StreamMode) -> None:
        """Kite's {"a": "subscribe"} and then {"a": "mode", "v": [ltp|quote|full, tokens]}."""
        tokens = self._tokens(instruments)
        if not tokens:
            return
        if len(self._instruments.keys() | set(tokens)) > self.max_instruments:
            raise BrokerError(f"Kite's ticker carries at most {self.max_instruments} instruments a connection.")
        added = [token for token in tokens if token not in self._instruments]
        # Known before Kite can answer, so the first tick finds its instrument.
        self._instruments.update(zip(tokens, instruments))
        kite_mode = MODES[mode]
        try:
            await self._in_reactor(lambda: (self._ticker.subscribe(tokens), self._ticker.set_mode(kite_mode, tokens)))
        except BrokerError:
            for token in added:
                self._instruments.pop(token, None)
            raise

    async def unsubscribe(self, instruments: Sequence[StreamInstrument]) -> None:
        """Kite's {"a": "unsubscribe", "v": tokens}."""
        tokens = [token for token in self._tokens(instruments) if token in self._instruments]
        if not tokens:
            return
        await self._in_reactor(lambda: self._ticker.unsubscribe(tokens))
        for token in tokens:
            self._instruments.pop(token, None)

    def __aiter__(self) -> "ZerodhaMarketStream":
        return self

    async def __anext__(self) -> Push:
        while not self._pending:
            if self._ended:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        return self._pending.popitem(last=False)[1]

    # --- on the event loop ------------------------------------------------------------------------

    def _tokens(self, instruments: Sequence[StreamInstrument]) -> list[int]:
        if self._ticker is None or self._ended:
            raise BrokerUnavailable("Kite's ticker is not connected.")
        try:
            return [int(instrument.token) for instrument in instruments]
        except ValueError:
            raise BrokerError("Kite's ticker takes numeric instrument tokens.") from None

    def _socket_opened(self) -> None:
        if self._opened is not None and not self._opened.done():
            self._up = True
            self._opened.set_result(None)
            self._queue_status(FeedState.UP, "Connected to Kite's ticker.")
        elif self._ended:  # opened after close() gave up on it
            self._call_in_reactor(self._drop)

    def _ticks_arrived(self, ticks: list[dict[str, Any]], received_at: datetime) -> None:
        if self._ended:
            return
        for tick in ticks:
            try:
                token = tick_token(tick)
                known = self._instruments.get(token)
                exchange = tick_exchange(token, subscribed=known.exchange if known else None)
                self._pending[("tick", token)] = TickPush(quote_from_tick(tick, exchange=exchange,
                                                                          received_at=received_at))
            except (BrokerError, KeyError, TypeError, ValueError):
                unknown_value_seen(Broker.ZERODHA, "ticker instrument", tick.get("instrument_token"))
        self._wake.set()

    def _heartbeat(self) -> None:
        if self._up and not self._ended:
            self._pending[("heartbeat",)] = FeedStatusPush(state=FeedState.UP, message=HEARTBEAT)
            self._wake.set()

    def _socket_error(self, code: int | None, reason: str) -> None:
        if code == 0:  # Kite's own {"type": "error"} text message: the socket stays open
            logger.warning("zerodha_ticker_error", extra={"message": reason[:200]})
            return
        self._close_reason = reason

    def _socket_gone(self, code: int | None, reason: str) -> None:
        """on_close (the socket closed) or on_noreconnect (it never connected, or KiteTicker gave up)."""
        reason = reason or self._close_reason
        if self._socket_closed is not None and not self._socket_closed.done():
            self._socket_closed.set_result(code)
        if self._opened is not None and not self._opened.done():
            self._opened.set_exception(_open_error(reason))
        elif self._up and not self._ended:
            self._queue_status(FeedState.DOWN, f"Kite's ticker closed the connection (code {code}).")
            self._end()

    def _queue_status(self, state: FeedState, message: str) -> None:
        self._pending[("status", next(self._statuses))] = FeedStatusPush(state=state, message=message)
        self._wake.set()

    def _end(self, *, discard: bool = False) -> None:
        self._ended = True
        if discard:
            self._pending.clear()
        if self._opened is not None and not self._opened.done():
            self._opened.set_exception(BrokerUnavailable("The Kite ticker stream was closed."))
        self._wake.set()

    # --- between the loop and the reactor thread -------------------------------------------------

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        """From the reactor thread: run `callback` on the stream's loop (a loop already closed hears nothing)."""
        try:
            self._loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:
            pass

    def _message_arrived(self, ws: Any, payload: bytes, is_binary: bool) -> None:
        """From the reactor thread, every frame: a heartbeat goes to the loop (ticks come by `on_ticks`)."""
        if is_binary and len(payload) <= _HEARTBEAT_BYTES:
            self._post(self._heartbeat)

    def _call_in_reactor(self, call: Callable[[], Any]) -> None:
        from twisted.internet import reactor

        reactor.callFromThread(call)

    async def _in_reactor(self, call: Callable[[], Any]) -> None:
        """Run a KiteTicker call in the reactor thread and wait for it; a failure there (no socket, a socket
        closed) or a reactor that does not run it in time is BrokerUnavailable."""
        future = self._loop.create_future()

        def settle(error: BaseException | None) -> None:
            if not future.done():
                future.set_exception(error) if error else future.set_result(None)

        def run() -> None:
            try:
                call()
            except Exception as exc:  # autobahn's Disconnected, or no socket yet (ws is None)
                logger.warning("zerodha_ticker_call_failed", extra={"error_type": type(exc).__name__})
                self._post(settle, BrokerUnavailable("Kite's ticker is not connected."))
            else:
                self._post(settle, None)

        self._call_in_reactor(run)
        try:
            async with asyncio.timeout(self._timeout):
                await future
        except TimeoutError:
            cancel_kept()
            raise BrokerUnavailable("Kite's ticker did not answer in time.") from None

    def _abandon(self) -> None:
        """In the reactor thread: stop connecting (KiteTicker's factory exists once connect ran) and drop."""
        factory = getattr(self._ticker, "factory", None)
        if factory is not None:
            factory.stopTrying()
        self._drop()

    def _drop(self) -> None:
        """In the reactor thread: abort the socket without a close handshake."""
        protocol = self._ticker.ws if self._ticker is not None else None
        if protocol is not None and hasattr(protocol, "dropConnection"):
            protocol.dropConnection(abort=True)


def _open_error(reason: str) -> BrokerError:
    """Why the socket did not open: Kite refusing the session (HTTP 403 at the handshake), or anything else."""
    refused = _UPGRADE_FAILED.search(reason)
    if refused and int(refused.group(1)) in _SESSION_REFUSED:
        return BrokerSessionExpired("Kite refused the session for its ticker: the access token has expired "
                                    "or was revoked; reconnect the account.")
    return BrokerUnavailable("Kite's ticker cannot be reached right now.")
