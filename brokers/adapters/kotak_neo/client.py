"""The only module that calls neo_api_client; turns its failures into BrokerErrors.

The SDK catches most exceptions and hands them back inside the result dict,
and it reads HTTP status codes only for some calls. So the client watches
the HTTP exchange itself through the SDK's `transport` hook: what failed on
the wire (timeout, unreachable, 5xx, 401) decides the error, and only then
the payload's own error fields (read by mapping.py).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from neo_api_client import NeoAPI
from neo_api_client.exceptions import ApiException
from neo_api_client.utils.positions_pnl import compute_position_metrics
from neo_api_client.websocket.feed import SFeedWebSocket
from neo_api_client.websocket.orderfeed.exceptions import ConnectionError as OrderFeedConnectionError
from neo_api_client.websocket.orderfeed.models import OrderUpdate

from brokers.adapters.base import (
    BrokerAuthRejected,
    BrokerError,
    BrokerOrderRejected,
    BrokerSessionExpired,
    BrokerTimeout,
    BrokerUnavailable,
)
from brokers.adapters.kotak_neo import mapping

logger = logging.getLogger(__name__)
# A segment's scrip master is tens of megabytes (NSE F&O).
SCRIP_MASTER_TIMEOUT_SECONDS = 120

# NeoUtility attributes that make up a resumable session.
SESSION_ATTRIBUTES = (
    "view_token",
    "sid",
    "edit_token",
    "edit_sid",
    "edit_rid",
    "base_url",
    "data_center",
    "ucc",
    "feed_url",
    "rt_url",
    "sfeed_websocket_url",
    "order_feed_url",
)


@dataclass
class _Exchange:
    status: int | None = None
    failure: str = ""


class _ObservingTransport(httpx.BaseTransport):
    """Records the outcome of each HTTP exchange the SDK makes."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[_Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _Exchange()
        self.exchanges.append(exchange)
        try:
            response = self.inner.handle_request(request)
        except httpx.TimeoutException:
            exchange.failure = "timeout"
            raise
        except httpx.TransportError:
            exchange.failure = "unreachable"
            raise
        exchange.status = response.status_code
        return response

    def close(self) -> None:
        self.inner.close()


class KotakNeoClient:
    """A NeoAPI client for one account, resumable from a stored session."""

    def __init__(self, *, consumer_key: str, environment: str, session: Mapping[str, Any]) -> None:
        inner = settings.KOTAK_NEO_TRANSPORT or httpx.HTTPTransport(http2=True, retries=0)
        self._transport = _ObservingTransport(inner)
        self._neo = NeoAPI(
            consumer_key=consumer_key,
            environment=environment,
            transport=self._transport,
            timeout=settings.BROKER_TIMEOUT_SECONDS,
        )
        for name in SESSION_ATTRIBUTES:
            if session.get(name):
                setattr(self._neo.configuration, name, session[name])

    def session(self) -> dict[str, str]:
        """The SDK's session state, to store encrypted and resume later."""
        config = self._neo.configuration
        return {name: getattr(config, name) for name in SESSION_ATTRIBUTES if getattr(config, name, None)}

    def totp_login(self, *, mobile_number: str, ucc: str, totp: str) -> dict[str, Any]:
        """POST login/1.0/tradeApiLogin (view token)."""
        return self._call(
            lambda: self._neo.totp_login(mobile_number=mobile_number, ucc=ucc, totp=totp),
            login=True,
        )

    def totp_validate(self, *, mpin: str) -> dict[str, Any]:
        """POST login/1.0/tradeApiValidate (trade token)."""
        return self._call(lambda: self._neo.totp_validate(mpin=mpin), login=True)

    def limits(self, filters: Mapping[str, str] | None = None) -> dict[str, Any]:
        """POST quick/user/limits: all segments, exchanges and products, or the jData `filters` (seg, exch, prod).

        kotakneoapi 3's NeoAPI.limits() takes no filters and always sends
        seg/exch/prod "ALL", though Kotak's endpoint still takes them (Trade
        API docs, "Limits"). So a filtered call makes the SDK's own request
        (LimitsAPI.limit_init: same URL, headers and form body) through the
        SDK's REST client, with the filters in place of ALL.
        """
        if filters is None:
            return self._call(self._neo.limits)
        return self._call(lambda: self._filtered_limits(filters))

    def _filtered_limits(self, filters: Mapping[str, str]) -> Any:
        config = self._neo.configuration
        if not (config.edit_token and config.edit_sid):
            # What NeoAPI.limits() refuses too: no trade session, nothing sent.
            raise BrokerSessionExpired("The Kotak Neo session has expired; reconnect the account.")
        response = self._neo.api_client.rest_client.request(
            method="POST",
            url=config.get_url_details("limits"),
            query_params={},
            headers={
                "Sid": config.edit_sid,
                "Auth": config.edit_token,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            body=dict(filters),
        )
        return response.json()

    def holdings(self) -> dict[str, Any]:
        """GET portfolio/v1/holdings (the SDK also caches the answer on disk for positions)."""
        return self._call(self._neo.holdings, empty_ok=True)

    def positions(self) -> dict[str, Any]:
        """GET portfolio/v2/positions: raw fills-by-day rows, no P&L computed."""
        return self._call(self._neo.positions, empty_ok=True)

    @staticmethod
    def position_metrics(
        row: Mapping[str, Any], holding: Mapping[str, Any] | None, ltp: float | None
    ) -> dict[str, Any]:
        """The SDK's own net quantity, average price and P&L for one positions row (no network)."""
        return compute_position_metrics(dict(row), dict(holding) if holding else None, ltp)

    def quotes(self, instrument_tokens: list[dict[str, str]], quote_type: str) -> dict[str, Any]:
        """NeoAPI.quotes: GET script-details/1.0/quotes/neosymbol/<segment>|<token>,.../<quote type>.

        Kotak answers a list; it comes back as {"data": [...]} like the other
        lists. Kotak takes at most 50 instruments a call (the adapter batches).
        """
        return self._call(
            lambda: mapping.quotes_answer(self._neo.quotes(instrument_tokens=instrument_tokens, quote_type=quote_type))
        )

    def place_order(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """NeoAPI.place_order: POST quick/order/rule/ms/place. `arguments` come from mapping.order_to_wire."""
        return self._call(lambda: self._neo.place_order(**arguments), order=True)

    def modify_order(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """NeoAPI.modify_order: POST quick/order/vr/modify. `arguments` come from mapping.order_change_to_wire."""
        return self._call(lambda: self._neo.modify_order(**arguments), order=True)

    def cancel_order(self, *, order_id: str, amo: str) -> dict[str, Any]:
        """NeoAPI.cancel_order: POST quick/order/cancel."""
        return self._call(lambda: self._neo.cancel_order(order_id=order_id, amo=amo), order=True)

    def scrip_master_files(self) -> dict[str, Any]:
        """NeoAPI.scrip_master: GET script-details/1.0/masterscrip/file-paths, where the day's CSVs are."""
        return self._call(lambda: mapping.scrip_master_answer(self._neo.scrip_master()))

    def scrip_master_file(self, url: str) -> str:
        """One scrip master CSV, from the address the file list gives (the SDK has no call that returns it)."""
        self._transport.exchanges.clear()
        http = httpx.Client(transport=self._transport, timeout=SCRIP_MASTER_TIMEOUT_SECONDS, follow_redirects=True)
        try:
            response = http.get(url)
        except httpx.TimeoutException as error:
            raise BrokerTimeout("Kotak Neo's scrip master did not arrive in time.") from error
        except httpx.TransportError as error:
            raise BrokerUnavailable("Kotak Neo's scrip master cannot be reached right now.") from error
        if response.status_code != 200:
            raise BrokerError(f"Kotak Neo's scrip master could not be downloaded (HTTP {response.status_code}).")
        return response.text

    def orders(self) -> dict[str, Any]:
        """NeoAPI.order_report: GET quick/user/orders, the day's order book."""
        return self._call(self._neo.order_report, empty_ok=True)

    def order_history(self, order_id: str) -> dict[str, Any]:
        """NeoAPI.order_history: POST quick/order/history, Kotak's answer taken out of the SDK's wrapper."""
        return self._call(
            lambda: mapping.history_body(self._neo.order_history(order_id=order_id)), empty_ok=True
        )

    def trades(self) -> dict[str, Any]:
        """NeoAPI.trade_report: GET quick/user/trades, the day's trade book."""
        return self._call(self._neo.trade_report, empty_ok=True)

    async def order_feed(self, *, url: str | None = None) -> AsyncIterator[dict[str, Any]]:
        """NeoAPI.create_order_feed: wss://<base>/realtime; yields each `order` frame's data with Kotak's keys.

        The SDK sends its connection string, drops the acknowledgement and
        reconnects by itself; the feed ends when it gives up.
        """
        options = {"url": url} if url else {}
        try:
            feed = self._neo.create_order_feed(max_connect_retries=0, max_reconnect_attempts=0, **options)
        except ValueError as error:  # no trade session
            raise BrokerSessionExpired("The Kotak Neo session has expired; reconnect the account.") from error
        try:
            async with feed:
                async for message in feed:
                    if isinstance(message, OrderUpdate):
                        yield message.data.model_dump(by_alias=True, exclude_none=True)
        except OrderFeedConnectionError as error:
            raise BrokerUnavailable("The Kotak Neo order feed cannot be reached.") from error

    def market_feed(self, *, url: str | None, max_subscriptions: int) -> SFeedWebSocket:
        """NeoAPI.create_websocket: the session's SFeed market-data socket, not yet connected.

        The SDK signs in with the session's UCC and trade sid and takes the
        session's own feed URL unless `url` is given. Its retries and
        reconnects are off: the market-feed process reconnects with the
        session as stored then (brokers/adapters/kotak_neo/feed.py).
        """
        try:
            return self._neo.create_websocket(url=url, max_connect_retries=0, max_reconnect_attempts=0,
                                              max_subscriptions=max_subscriptions)
        except ValueError as error:  # no trade session
            raise BrokerSessionExpired("The Kotak Neo session has expired; reconnect the account.") from error

    def logout(self) -> None:
        """NeoAPI.logout(): the SDK drops its tokens (Kotak has no logout call for Trade API sessions)."""
        self._neo.logout()

    def _call(
        self,
        operation: Callable[[], Any],
        *,
        login: bool = False,
        empty_ok: bool = False,
        order: bool = False,
    ) -> Any:
        self._transport.exchanges.clear()
        try:
            payload = operation()
        except ApiException as exc:
            self._raise_for_exchange(login=login)
            raise BrokerError("The request to Kotak Neo failed.") from exc
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            # The SDK indexes some answers without checking them first.
            self._raise_for_exchange(login=login)
            raise BrokerError("Kotak Neo returned an answer that could not be read.") from exc
        # A successful answer stands even if a best-effort follow-up call the
        # SDK makes on its own (the feed-URL lookup after login) failed.
        if mapping.is_success(payload):
            return payload
        self._raise_for_exchange(login=login)
        # Neo answers an empty book with an error body ("No Data"); for a
        # list that is an empty list, which mapping reads as one.
        if empty_ok and mapping.is_no_data(payload):
            return payload
        message = mapping.error_message(payload)
        if mapping.is_session_error(payload):
            if login:
                raise BrokerAuthRejected(f"Kotak Neo login step is out of order: {message}")
            raise BrokerSessionExpired("The Kotak Neo session has expired; reconnect the account.")
        if login:
            raise BrokerAuthRejected(f"Kotak Neo rejected the login: {message}")
        if order:
            self._raise_order_refusal(payload)
        raise BrokerError(f"Kotak Neo refused the request: {message}")

    def _raise_order_refusal(self, payload: Any) -> None:
        """An order Kotak (or the SDK, before sending it) refused: BrokerOrderRejected with the reason.

        Only a refusal means the order was not placed. An answer that is not
        Kotak's own body (the SDK caught an exception reading it) after a 2xx
        exchange leaves that unknown, so it stays a BrokerError.
        """
        answered = [exchange.status for exchange in self._transport.exchanges if exchange.status is not None]
        if not answered:
            # The SDK checked the arguments itself and sent nothing.
            raise BrokerOrderRejected(mapping.error_message(payload))
        if mapping.is_broker_answer(payload):
            raise BrokerOrderRejected(mapping.order_refusal_message(payload))
        if answered[-1] >= 400:
            raise BrokerOrderRejected(f"Kotak Neo refused the order (HTTP {answered[-1]}).")
        raise BrokerError("Kotak Neo returned an answer that could not be read.")

    def _raise_for_exchange(self, *, login: bool) -> None:
        for exchange in self._transport.exchanges:
            if exchange.failure == "timeout":
                raise BrokerTimeout("Kotak Neo did not answer in time.")
            if exchange.failure == "unreachable":
                raise BrokerUnavailable("Kotak Neo cannot be reached right now.")
            if exchange.status is not None and exchange.status >= 500:
                logger.warning("kotak_neo_api_error", extra={"http_status": exchange.status})
                raise BrokerError(f"Kotak Neo failed to answer (HTTP {exchange.status}).")
            if exchange.status == 401 and not login:
                raise BrokerSessionExpired("The Kotak Neo session has expired; reconnect the account.")
