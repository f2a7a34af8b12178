"""Zerodha through the official kiteconnect SDK."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from brokers.adapters.base import BrokerAdapter, BrokerAuthRejected
from brokers.adapters.zerodha import mapping
from brokers.adapters.zerodha.client import ZerodhaClient
from brokers.adapters.zerodha.quotes import quote_budget_key, quotes_fetch
from brokers.adapters.zerodha.ticker import ZerodhaMarketStream
from brokers.domain import (
    Broker,
    BrokerOrder,
    ConnectionStatus,
    Fill,
    Holding,
    InstrumentListing,
    LimitsSegment,
    LoginStep,
    OrderChange,
    OrderRequest,
    Position,
    Quote,
    QuoteInstrument,
    QuoteKind,
    SegmentFunds,
)


class ZerodhaAdapter(BrokerAdapter):
    """Kite Connect v3: login URL, redirect with request_token, daily access token."""

    broker = Broker.ZERODHA
    publishes_instruments = True
    # Kite's funds come in two segments: commodity (MCX) and equity, which also
    # pays for currency derivatives (CDS, BCD); so CUR limits are the equity funds.
    equity_limits_segments = frozenset({LimitsSegment.CASH, LimitsSegment.FO, LimitsSegment.CUR})
    # Kite's ticker: 3,000 instruments a connection, 3 connections an API key.
    streams_market_data = True
    market_streams_per_key = 3

    def _client(self) -> ZerodhaClient:
        return ZerodhaClient(
            api_key=self.credentials["api_key"],
            access_token=self.session.get("access_token"),
        )

    def login_start(self, *, otp: str = "", state: str = "") -> LoginStep:
        """Kite's login URL; `state` returns to us through `redirect_params`."""
        url = self._client().login_url()
        if state:
            url += "&" + urlencode({"redirect_params": f"state={state}"})
        return LoginStep(
            status=ConnectionStatus.PENDING_LOGIN,
            message="Open login_url, sign in to Zerodha, and you will be sent back to complete the connection.",
            login_url=url,
        )

    def login_complete(self, *, secret: str) -> LoginStep:
        """POST /session/token with the request token from Kite's redirect."""
        if not secret:
            raise BrokerAuthRejected("A request_token is required to complete a Zerodha login.")
        payload = self._client().generate_session(
            request_token=secret, api_secret=self.credentials["api_secret"]
        )
        return LoginStep(
            status=ConnectionStatus.CONNECTED,
            message="Broker connected successfully",
            session=mapping.session_from_wire(payload),
            account_id=mapping.account_id_from_wire(payload),
            expires_at=mapping.session_expiry(
                mapping.login_time_from_wire(payload), now=timezone.now()
            ),
            profile=mapping.profile_from_wire(payload),
        )

    def logout(self) -> None:
        """DELETE /session/token."""
        if self.session.get("access_token"):
            self._client().invalidate_access_token()

    def holdings(self) -> list[Holding]:
        """GET /portfolio/holdings."""
        return mapping.holdings_from_wire(self._client().holdings())

    def positions(self) -> list[Position]:
        """GET /portfolio/positions (the net list)."""
        return mapping.positions_from_wire(self._client().positions())

    def funds(self) -> list[SegmentFunds]:
        """GET /user/margins (equity and commodity)."""
        return mapping.funds_from_wire(self._client().margins())

    # --- orders ---------------------------------------------------------------------------------

    def order_place(self, order: OrderRequest) -> str:
        """POST /orders/:variety (regular or amo); Kite's refusal is BrokerOrderRejected with its reason."""
        return self._client().place_order(mapping.order_to_wire(order))

    def order_modify(self, broker_order_id: str, change: OrderChange, *, variety: str = "regular") -> str:
        """PUT /orders/:variety/:order_id with only the fields that change."""
        return self._client().modify_order(
            variety=mapping.variety_to_wire(variety),
            order_id=broker_order_id,
            params=mapping.order_change_to_wire(change),
        )

    def order_cancel(self, broker_order_id: str, *, variety: str = "regular") -> str:
        """DELETE /orders/:variety/:order_id."""
        return self._client().cancel_order(variety=mapping.variety_to_wire(variety), order_id=broker_order_id)

    def instruments(self) -> InstrumentListing:
        """GET /instruments: NSE, BSE, NFO, BFO and MCX instruments and the indices (the dump is not dated)."""
        return InstrumentListing(instruments=mapping.instruments_from_wire(self._client().instruments()))

    def orders(self) -> list[BrokerOrder]:
        """GET /orders."""
        return mapping.orders_from_wire(self._client().orders())

    def order_history(self, broker_order_id: str) -> list[BrokerOrder]:
        """GET /orders/:order_id."""
        return mapping.orders_from_wire(self._client().order_history(broker_order_id))

    def trades(self) -> list[Fill]:
        """GET /trades."""
        return mapping.fills_from_wire(self._client().trades())

    @classmethod
    def push_account_id(cls, payload: Mapping[str, Any]) -> str:
        """The Kite user a postback is for."""
        return mapping.account_id_from_wire(dict(payload))

    def order_from_push(self, payload: Mapping[str, Any]) -> BrokerOrder:
        """Kite's order postback (COMPLETE, CANCELLED, REJECTED, or UPDATE for a partial fill or a modification),
        after checking its checksum: SHA-256 of order_id + order_timestamp + api_secret."""
        if not mapping.postback_checksum_ok(payload, api_secret=str(self.credentials.get("api_secret", ""))):
            raise BrokerAuthRejected("The postback checksum does not match.")
        return mapping.order_from_postback(payload)

    # --- market data ------------------------------------------------------------------------------

    def quotes(self, instruments: Sequence[QuoteInstrument], kind: QuoteKind = QuoteKind.ALL) -> list[Quote]:
        """GET /quote (500 instruments a call), /quote/ohlc or /quote/ltp (1,000), paced to Kite's quote budget."""
        if not instruments:
            return []
        budget = quote_budget_key(account_id=self.account_id, api_key=str(self.credentials.get("api_key", "")))
        return quotes_fetch(self._client(), instruments, kind, budget_key=budget)

    def market_stream(self) -> ZerodhaMarketStream:
        """Kite's ticker (wss://ws.kite.trade, or KITE_TICKER_URL) for this session, through KiteTicker."""
        return ZerodhaMarketStream(
            api_key=str(self.credentials.get("api_key", "")),
            access_token=str(self.session.get("access_token") or ""),
            root=settings.KITE_TICKER_URL,
        )
