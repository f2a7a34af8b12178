"""Kotak Neo through the official neo_api_client SDK (TOTP, then MPIN)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from brokers.adapters.base import (
    BrokerAdapter,
    BrokerAuthRejected,
    BrokerError,
    BrokerOrderRejected,
)
from brokers.adapters.kotak_neo import mapping
from brokers.adapters.kotak_neo.client import KotakNeoClient
from brokers.adapters.kotak_neo.feed import KotakNeoMarketStream
from brokers.domain import (
    Broker,
    BrokerOrder,
    ConnectionStatus,
    Fill,
    Holding,
    InstrumentListing,
    Limits,
    LimitsExchange,
    LimitsProduct,
    LimitsSegment,
    LoginStep,
    OrderChange,
    OrderProgress,
    OrderRequest,
    Position,
    Quote,
    QuoteInstrument,
    QuoteKind,
    SegmentFunds,
)

logger = logging.getLogger("budhitrade.brokers")


class KotakNeoAdapter(BrokerAdapter):
    """Kotak Neo Trade API: TOTP login gives a view session, MPIN upgrades it to trade."""

    broker = Broker.KOTAK_NEO
    publishes_instruments = True
    streams_order_updates = True
    streams_market_data = True
    index_token_is_name = True

    @classmethod
    def account_id_hint(cls, credentials) -> str:
        """Kotak accounts are named by their UCC, which the login takes."""
        return str(credentials.get("ucc", "")).upper()

    def _client(self) -> KotakNeoClient:
        return KotakNeoClient(
            consumer_key=self.credentials["consumer_key"],
            environment=self.options.get("environment") or "prod",
            session=self.session,
        )

    def login_start(self, *, otp: str = "", state: str = "") -> LoginStep:
        """NeoAPI.totp_login with the stored mobile number and UCC and the user's TOTP."""
        client = self._client()
        client.totp_login(
            mobile_number=self.credentials["mobile_number"],
            ucc=self.credentials["ucc"],
            totp=otp,
        )
        return LoginStep(
            status=ConnectionStatus.PENDING_MPIN,
            message="TOTP accepted; send your MPIN to /broker/connect/verify to finish connecting.",
            session=client.session(),
            account_id=self.credentials["ucc"].upper(),
        )

    def login_complete(self, *, secret: str) -> LoginStep:
        """NeoAPI.totp_validate with the MPIN."""
        if not self.session.get("view_token"):
            raise BrokerAuthRejected("Start with the TOTP step before sending the MPIN.")
        client = self._client()
        payload = client.totp_validate(mpin=secret)
        session = client.session()
        # The view token has done its job; keep only what trading needs.
        session.pop("view_token", None)
        return LoginStep(
            status=ConnectionStatus.CONNECTED,
            message="Broker connected successfully",
            session=session,
            account_id=mapping.account_id_from_login(payload, fallback=self.credentials["ucc"]),
            expires_at=mapping.session_expiry(
                session.get("edit_token"),
                now=timezone.now(),
                default_hours=settings.KOTAK_NEO_SESSION_HOURS,
            ),
            profile=mapping.profile_from_login(payload),
        )

    def logout(self) -> None:
        """NeoAPI.logout."""
        if self.session.get("edit_token"):
            self._client().logout()

    def holdings(self) -> list[Holding]:
        """NeoAPI.holdings (GET portfolio/v1/holdings), valued at Kotak's own mktValue and holdingCost; a share
        Kotak lists on both NSE and BSE is one holding."""
        return mapping.holdings_from_wire(self._client().holdings())

    def positions(self) -> list[Position]:
        """NeoAPI.positions (GET portfolio/v2/positions), valued at NeoAPI.quotes' last prices.

        Kotak's positions carry no LTP, so each position is quoted (50 a call,
        each call taken from the account's API budget), and NeoAPI.holdings is
        read where carried equity needs its cost. Positions come through
        without a price where the quotes cannot be had (a failed call, an
        instrument Kotak does not price): their last price and unrealised
        P&L are None, realised P&L and quantities stand.
        """
        client = self._client()
        payload = client.positions()
        holdings = None
        if mapping.positions_need_holdings(payload):
            self.call_wait()
            holdings = client.holdings()
        prices = self._last_prices(client, mapping.position_instruments(payload))
        return mapping.positions_from_wire(
            payload, metrics=client.position_metrics, prices=prices, holdings=holdings
        )

    def _last_prices(
        self, client: KotakNeoClient, instruments: list[tuple[str, str]]
    ) -> dict[tuple[str, str], Decimal]:
        """NeoAPI.quotes (quote type ltp) in batches, each taken from the account's API budget.

        A failed batch (Kotak down, slow, refusing, or the budget spent)
        leaves it and every later batch unpriced, rather than waiting out each
        in turn. Quotes need only the consumer key, not the trade session, so
        a refusal here never marks the connection expired.
        """
        prices: dict[tuple[str, str], Decimal] = {}
        for start in range(0, len(instruments), mapping.QUOTES_PER_CALL):
            batch = instruments[start:start + mapping.QUOTES_PER_CALL]
            try:
                self.call_wait()
                payload = client.quotes(mapping.quote_tokens_to_wire(batch), mapping.quote_type_to_wire(QuoteKind.LTP))
            except BrokerError as error:
                logger.warning("kotak_neo_prices_missing", extra={
                    "account_id": self.account_id, "instruments": len(instruments) - start, "reason": error.detail})
                return prices
            prices.update(mapping.ltps_from_wire(payload))
        unpriced = len(instruments) - len(prices)
        if prices and unpriced:
            logger.info("kotak_neo_prices_missing", extra={"account_id": self.account_id, "instruments": unpriced})
        return prices

    def quotes(self, instruments: Sequence[QuoteInstrument], kind: QuoteKind = QuoteKind.ALL) -> list[Quote]:
        """NeoAPI.quotes (GET script-details/1.0/quotes/neosymbol/...) with Kotak's quote type for `kind`.

        50 instruments a call, each after the first (the caller's, as for
        every adapter call) taken from the account's API budget. One
        quote per instrument asked, in the order asked; an instrument Kotak
        does not answer for has nothing in it but its name.
        """
        quote_type = mapping.quote_type_to_wire(kind)
        wire = mapping.quote_instruments_to_wire(instruments)
        client = self._client()
        answered: dict[tuple[str, str], dict] = {}
        for start in range(0, len(wire), mapping.QUOTES_PER_CALL):
            if start:  # the first is the caller's to take, as for every adapter call
                self.call_wait()
            batch = wire[start:start + mapping.QUOTES_PER_CALL]
            answered.update(mapping.quote_rows_from_wire(client.quotes(mapping.quote_tokens_to_wire(batch), quote_type)))
        received_at = timezone.now()
        return [
            mapping.quote_from_wire(answered[key], instrument, received_at=received_at) if key in answered
            else Quote(instrument=instrument, received_at=received_at)
            for key, instrument in zip(wire, instruments)
        ]

    def funds(self) -> list[SegmentFunds]:
        """NeoAPI.limits (POST quick/user/limits, all segments)."""
        return mapping.funds_from_wire(self._client().limits())

    def limits(self, *, segment: LimitsSegment, exchange: LimitsExchange, product: LimitsProduct) -> Limits:
        """POST quick/user/limits with the filters: Kotak answers for the segment, exchange and product itself."""
        filters = mapping.limits_filters_to_wire(segment=segment, exchange=exchange, product=product)
        payload = self._client().limits(filters)
        return mapping.limits_from_wire(payload, segment=segment, exchange=exchange, product=product)

    # --- orders ---------------------------------------------------------------------------------

    def order_place(self, order: OrderRequest) -> str:
        """NeoAPI.place_order (POST quick/order/rule/ms/place); the tag goes as Kotak's `ig`."""
        payload = self._client().place_order(mapping.order_to_wire(order))
        return mapping.order_id_from_wire(payload)

    def order_modify(self, broker_order_id: str, change: OrderChange, *, variety: str = "regular") -> str:
        """NeoAPI.order_report for the order's current values, then NeoAPI.modify_order (POST quick/order/vr/modify).

        Kotak's modify replaces the whole order, so what the change leaves
        alone is sent as the book has it.
        """
        if change == OrderChange():
            raise BrokerOrderRejected("The modification changes nothing.")
        mapping.variety_to_wire(variety)  # refuse an unknown variety before reading the book
        client = self._client()
        current = mapping.order_row(client.orders(), broker_order_id)
        arguments = mapping.order_change_to_wire(broker_order_id, change, current, variety=variety)
        return mapping.order_id_from_wire(client.modify_order(arguments), fallback=broker_order_id)

    def order_cancel(self, broker_order_id: str, *, variety: str = "regular") -> str:
        """NeoAPI.cancel_order (POST quick/order/cancel)."""
        payload = self._client().cancel_order(order_id=broker_order_id, amo=mapping.variety_to_wire(variety))
        return mapping.order_id_from_wire(payload, fallback=broker_order_id)

    def instruments(self) -> InstrumentListing:
        """NeoAPI.scrip_master (GET script-details/1.0/masterscrip/file-paths), then each segment's CSV.

        Every segment must be there: a master missing one would call its
        instruments unknown. The files' addresses carry the day they are of.
        """
        client = self._client()
        files = mapping.scrip_master_files(client.scrip_master_files())
        listed = []
        for segment, url in files.items():
            listed.extend(mapping.instruments_from_scrip_master(segment, client.scrip_master_file(url)))
        return InstrumentListing(instruments=listed, published_on=mapping.scrip_master_day(files.values()))

    def orders(self) -> list[BrokerOrder]:
        """NeoAPI.order_report (GET quick/user/orders)."""
        return mapping.orders_from_wire(self._client().orders())

    def order_history(self, broker_order_id: str) -> list[BrokerOrder]:
        """NeoAPI.order_history (POST quick/order/history), oldest state first."""
        return mapping.order_history_from_wire(self._client().order_history(broker_order_id))

    def trades(self) -> list[Fill]:
        """NeoAPI.trade_report (GET quick/user/trades)."""
        return mapping.fills_from_wire(self._client().trades())

    def market_stream(self) -> KotakNeoMarketStream:
        """NeoAPI.create_websocket (Kotak's SFeed market feed) for this session, unopened."""
        return KotakNeoMarketStream(client=self._client(), url=settings.KOTAK_NEO_FEED_URL)

    async def order_updates(self) -> AsyncIterator[OrderProgress]:
        """NeoAPI.create_order_feed (wss://<base>/realtime): each order update as Kotak pushes it."""
        async for frame in self._client().order_feed(url=settings.KOTAK_NEO_ORDER_FEED_URL):
            yield mapping.order_progress_from_feed(frame)
