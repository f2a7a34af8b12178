"""Seed 002's market socket, `/ws/market/{client_id}?token=<access JWT>`: subscribe to instruments, get ticks.

Actions (seed 002): `subscribe` (`instrument_tokens`, `isIndex`, `isDepth`),
`unsubscribe`, `unsubscribe_all`, `subscribe_orderfeed`, `close`; `{"type":
"ping"}` is answered with a pong. Messages: `connection`, `market_data`,
`order_update` (and `position_update`), `status`, `error`. A bad message gets
an `error` naming the problem and the socket stays open; so does a client
that sends more than one message a second beyond a small burst.

The socket streams "the" account's market data: `?account_id=` or
`?broker=`, else the user's only account; the paper market when that account
is a paper one or the user has none. Broker data comes from the user's own
session and reaches only them. Ticks come through the process's hub
(brokers/market/hub.py) into this socket's outbox, which keeps the latest
value per instrument and sends as fast as the client reads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time


from brokers.consumers import orders_group
from brokers.market import keys, registry
from brokers.market.hub import hub
from brokers.market.keys import StreamMode
from brokers.market.snapshot import SocketAccount, socket_account, user_connection_ids
from budhitrade.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, JsonConsumer
from budhitrade.errors import InvalidInput, ServiceError

logger = logging.getLogger("budhitrade.market")

CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
CLOSE_BAD_REQUEST = 4400  # the client id or the account asked for is not valid
CLOSE_TAKEN = 4409  # another user's socket holds this client id
CLOSE_REPLACED = 4000  # the same client id connected again, or the management endpoint disconnected it
CLOSE_UNAVAILABLE = 1011  # Redis is down: the socket cannot be registered
# Seed 004 §10: one client message a second, with a small burst.
MESSAGES_PER_SECOND = 1.0
MESSAGE_BURST = 5


SEND_NOW = "budhitrade.send_now"  # budhitrade.daphne_server's scope extension (imported there would install Twisted)


def _queued(text: str) -> bool:
    """send_now where the server has none: every value goes through the outbox's task."""
    return False


class _Outbox:
    """The socket's pending messages: the latest market_data per instrument, the latest status, in order of
    arrival. While the client keeps up, a value is framed at once by the server's `send_now` (no task, no
    coroutine); once that refuses (the client's buffer is full) values wait here, conflated, and one sender task
    drains them through the ASGI send, which waits for the client. Until it has, new values queue behind them:
    nothing newer overtakes an older value."""

    def __init__(self, send, send_now=None) -> None:
        self._send, self._send_now = send, send_now or _queued
        self._pending: dict[str, str] = {}
        self._task: asyncio.Task | None = None

    def put(self, key: str, text: str) -> None:
        if self._task is None and self._send_now(text):
            return
        self._pending.pop(key, None)  # a newer value goes to the back: every instrument gets its turn
        self._pending[key] = text
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    def drop(self, key: str) -> None:
        self._pending.pop(key, None)

    async def _run(self) -> None:
        try:
            pending, send = self._pending, self._send
            while pending:
                await send(pending.pop(next(iter(pending))))
        finally:
            self._task = None

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()


class MarketConsumer(JsonConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHORIZED)
            return
        self.client_id = self.scope["url_route"]["kwargs"]["client_id"]
        if not CLIENT_ID.match(self.client_id):
            await self.refuse(CLOSE_BAD_REQUEST)
            return
        try:
            self.account: SocketAccount = await socket_account(user, self.scope.get("query_string", b""))
        except ServiceError as error:
            await self.refuse(CLOSE_FORBIDDEN if error.status_code == 404 else CLOSE_BAD_REQUEST)
            return
        self.user_id = user.pk
        self.modes: dict[str, StreamMode] = {}
        self.index: dict[str, bool] = {}
        self.live: set[str] = set()  # instruments that got a tick since they were subscribed
        self.order_groups: list[str] = []
        self.allowance, self.allowance_at = float(MESSAGE_BURST), time.monotonic()
        try:
            await hub.start()
            held = await self._claim()
        except Exception:
            logger.warning("market_socket_unavailable", extra={"client_id": self.client_id}, exc_info=True)
            await self.refuse(CLOSE_UNAVAILABLE)
            return
        if held == "taken":
            logger.info("market_socket_refused", extra={"client_id": self.client_id, "user_id": self.user_id})
            await self.refuse(CLOSE_TAKEN)
            return
        if held:
            await self.channel_layer.send(held, {"type": "market.control", "action": "disconnect",
                                                 "reason": "The same client id connected again."})
        self.registered = True
        await self.accept()
        base_send = self.base_send  # the ASGI send itself: Channels' send wrappers cost more than a tick's frame
        self.outbox = _Outbox(lambda text: base_send({"type": "websocket.send", "text": text}),
                              self.scope.get("extensions", {}).get(SEND_NOW))
        await self.send_json({"type": "connection", "message": "Connected successfully", "client_id": self.client_id,
                              "broker": self.account.broker, "account_id": self.account.account_id,
                              "stream": "paper" if self.account.stream == keys.PAPER_STREAM else "broker"})

    async def refuse(self, code: int) -> None:
        """Close with `code` where every client sees it: a close before the handshake is answered would reach a
        browser as HTTP 403 with no code, so the socket is accepted first, then closed."""
        await self.accept()
        await self.close(code=code)

    async def _claim(self) -> str:
        return await registry.client_claim(
            hub.redis, client_id=self.client_id, user_id=self.user_id, process_id=hub.process_id,
            channel=self.channel_name, account=self.account.account_id, stream=self.account.stream)

    async def reassert(self) -> None:
        if await self._claim() != "taken":
            await registry.subscriptions_set(hub.redis, self.client_id, dict(self.modes))

    async def disconnect(self, code):
        if not getattr(self, "registered", False):
            return
        self.registered = False
        self.outbox.close()
        # The hub and the record first: a channel layer that fails here must not leave this socket's wants behind.
        await hub.detach(self, self.account.stream, list(self.modes))
        try:
            await registry.client_release(hub.redis, client_id=self.client_id, user_id=self.user_id,
                                          channel=self.channel_name)
        except Exception:  # Redis is away; the record goes stale with this process's heartbeat
            logger.warning("market_socket_release_failed", extra={"client_id": self.client_id})
        try:
            for group in self.order_groups:
                await self.channel_layer.group_discard(group, self.channel_name)
        except Exception:  # the layer expires a gone channel's group membership itself (group_expiry)
            logger.warning("market_socket_group_discard_failed", extra={"client_id": self.client_id})

    # --- the hub's side ----------------------------------------------------------------------------------------

    def offer(self, key: str, text: str) -> None:
        self.live.add(key)
        self.outbox.put(key, text)

    def offer_status(self, text: str) -> None:
        self.outbox.put("#status", text)

    # --- client messages ---------------------------------------------------------------------------------------

    def _allowed(self) -> bool:
        now = time.monotonic()
        self.allowance = min(MESSAGE_BURST, self.allowance + (now - self.allowance_at) * MESSAGES_PER_SECOND)
        self.allowance_at = now
        if self.allowance < 1:
            return False
        self.allowance -= 1
        return True

    async def receive(self, text_data=None, bytes_data=None):
        if not self._allowed():
            await self.error("Too many messages: send at most one a second (a burst of "
                             f"{MESSAGE_BURST} is fine); this one was ignored.")
            return
        await super().receive(text_data=text_data, bytes_data=bytes_data)

    async def error(self, message: str) -> None:
        await self.send_json({"type": "error", "message": message})

    async def receive_message(self, message: dict) -> None:
        action = message.get("action")
        handler = {"subscribe": self.subscribe, "unsubscribe": self.unsubscribe,
                   "unsubscribe_all": self.unsubscribe_all, "subscribe_orderfeed": self.subscribe_orderfeed,
                   "close": self.close_requested}.get(action) if isinstance(action, str) else None
        if handler is None:
            await self.error("Unknown action" + (f" {action!r}" if isinstance(action, str) else "") +
                             "; use subscribe, unsubscribe, unsubscribe_all, subscribe_orderfeed or close.")
            return
        try:
            await handler(message)
        except ServiceError as error:
            await self.error(str(error.detail))
        except Exception:
            logger.warning("market_socket_action_failed", extra={"client_id": self.client_id, "action": action},
                           exc_info=True)
            await self.error("Market data is unavailable right now; try again shortly.")

    async def _resolve(self, message: dict, *, is_index: bool = False):
        items = message.get("instrument_tokens")
        if not isinstance(items, list) or not items:
            raise InvalidInput("instrument_tokens must be a non-empty list of "
                           "{\"instrument_token\", \"exchange_segment\"} objects.")
        if len(items) > keys.SOCKET_INSTRUMENTS:
            raise InvalidInput(f"At most {keys.SOCKET_INSTRUMENTS} instruments on one socket.")
        return await self.account.resolve(items, is_index=is_index)

    async def subscribe(self, message: dict) -> None:
        flags = {name: message.get(name, False) for name in ("isIndex", "isDepth")}
        for name, value in flags.items():
            if not isinstance(value, bool):
                raise InvalidInput(f"{name} must be true or false.")
        resolved = await self._resolve(message, is_index=flags["isIndex"])
        mode = StreamMode.DEPTH if flags["isDepth"] else StreamMode.QUOTE
        wanted = {item.key: (mode, item.is_index) for item in resolved}
        new = [key for key in wanted if key not in self.modes]
        if len(self.modes) + len(new) > keys.SOCKET_INSTRUMENTS:
            raise InvalidInput(f"At most {keys.SOCKET_INSTRUMENTS} instruments on one socket: this socket has "
                           f"{len(self.modes)}; unsubscribe some first.")
        first = not self.modes
        for key, (key_mode, is_index) in wanted.items():
            self.modes[key], self.index[key] = key_mode, is_index
            self.live.discard(key)
        await hub.subscribe(self, self.account.stream, wanted)
        await registry.subscriptions_set(hub.redis, self.client_id, {k: int(m) for k, (m, _) in wanted.items()})
        market_open = await self.account.market_open()
        await self.send_json({
            "type": "status", "event": "subscribed", "count": len(self.modes),
            "instrument_tokens": [{"instrument_token": item.token, "exchange_segment": item.segment}
                                  for item in resolved],
            "market": "open" if market_open else "closed",
            "message": (f"Subscribed to {len(resolved)} instrument{'s' if len(resolved) != 1 else ''}."
                        if market_open else "The market is closed: each instrument's last value is sent once; "
                        "ticks stream again from the open."),
        })
        if first:
            state = await hub.redis.get(keys.status_key(self.account.stream))
            if state:
                self.offer_status(state.decode())
        await self._first_values(resolved, mode)

    async def _first_values(self, resolved, mode: StreamMode) -> None:
        """Each new instrument's last value, once: the feed's last tick where it has one, else a quote."""
        found = await hub.redis.hmget(keys.last_key(self.account.stream), [item.key for item in resolved])
        missing = []
        for item, raw in zip(resolved, found):
            if raw is None:
                missing.append(item)
            elif item.key not in self.live:
                data = json.loads(raw)
                if mode < StreamMode.DEPTH:
                    data.pop("depth", None)
                self.outbox.put(item.key, json.dumps({"type": "market_data", "data": data}))
        if missing:
            for key, data in await self.account.last_values(missing, mode):
                if key not in self.live and key in self.modes:
                    self.outbox.put(key, json.dumps({"type": "market_data", "data": data}))

    async def unsubscribe(self, message: dict) -> None:
        resolved = await self._resolve(message)
        await self._drop([item.key for item in resolved if item.key in self.modes])

    async def unsubscribe_all(self, message: dict) -> None:
        await self._drop(list(self.modes))

    async def _drop(self, instrument_keys: list[str], *, announce: bool = True) -> None:
        for key in instrument_keys:
            self.modes.pop(key, None)
            self.index.pop(key, None)
            self.live.discard(key)
            self.outbox.drop(key)
        await hub.unsubscribe(self, self.account.stream, instrument_keys)
        await registry.subscriptions_drop(hub.redis, self.client_id, instrument_keys)
        if announce:
            await self.send_json({"type": "status", "event": "unsubscribed", "count": len(self.modes),
                                  "message": f"Unsubscribed from {len(instrument_keys)} instruments."})

    async def subscribe_orderfeed(self, message: dict) -> None:
        for connection_id in await user_connection_ids(self.user_id):
            group = orders_group(connection_id)
            if group not in self.order_groups:
                await self.channel_layer.group_add(group, self.channel_name)
                self.order_groups.append(group)
        await self.send_json({"type": "status", "event": "orderfeed_subscribed",
                              "message": "Order updates of your accounts arrive on this socket."})

    async def close_requested(self, message: dict) -> None:
        await self.close(code=1000)

    # --- channel-layer messages ----------------------------------------------------------------------------

    async def order_event(self, event):
        await self.send_json(event["payload"])

    async def market_control(self, event):
        """From the management endpoints (any process) or a newer socket with this client id."""
        if event.get("action") == "unsubscribe":
            await self._drop([key for key in event.get("keys", []) if key in self.modes])
        elif event.get("action") == "disconnect":
            await self.send_json({"type": "status", "event": "disconnected",
                                  "message": event.get("reason") or "Disconnected."})
            await self.close(code=CLOSE_REPLACED)

