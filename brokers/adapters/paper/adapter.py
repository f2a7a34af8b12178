"""The paper broker: the paper exchange (brokers/paper/) behind the same interface as the real brokers."""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from brokers.adapters.base import BrokerAdapter, BrokerOrderRejected
from brokers.adapters.paper.quote import paper_quote
from brokers.adapters.paper.stream import PaperMarketStream
from brokers.domain import (
    Broker,
    BrokerOrder,
    ConnectionStatus,
    Fill,
    FundsSegment,
    Holding,
    InstrumentSpec,
    Limits,
    LimitsExchange,
    LimitsProduct,
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
from brokers.paper import catalogue, engine, ledger
from brokers.paper.models import PaperAccount, PaperHolding, PaperInstrument, PaperOrder, PaperPosition, PaperTrade
from brokers.paper.reports import fill_report, order_report

CENT = Decimal("0.01")
ZERO = Decimal("0")


def _new_account_id() -> str:
    return "PA" + "".join(secrets.choice("0123456789") for _ in range(8))


class PaperAdapter(BrokerAdapter):
    """Opens an account at the paper exchange at once; no credentials, no second step."""

    broker = Broker.PAPER
    opens_new_account = True
    # The engine announces each change with its fills (engine._announce), applied by orders.receivers on commit.
    pushes_every_change = True
    # The paper market is one market for everyone: one stream (brokers/adapters/paper/stream.py) serves all users.
    streams_market_data = True
    market_data_shared = True

    def login_start(self, *, otp: str = "", state: str = "") -> LoginStep:
        """Open (or reopen) a paper account with the requested opening cash."""
        account = PaperAccount.objects.filter(account_id=self.account_id).first() if self.account_id else None
        if account is None:
            opening_cash = Decimal(str(self.options.get("opening_cash") or settings.PAPER_OPENING_CASH))
            while True:
                account_id = _new_account_id()
                if not PaperAccount.objects.filter(account_id=account_id).exists():
                    break
            account = PaperAccount.objects.create(account_id=account_id, opening_cash=opening_cash)
        return LoginStep(
            status=ConnectionStatus.CONNECTED,
            message="Paper account connected",
            account_id=account.account_id,
        )

    def logout(self) -> None:
        """Nothing to end: the paper exchange keeps the account for a later reconnect."""

    @staticmethod
    def _round_trip() -> None:
        # A paper broker call costs what a real round trip would, when PAPER_LATENCY_SECONDS asks for it.
        if settings.PAPER_LATENCY_SECONDS:
            time.sleep(settings.PAPER_LATENCY_SECONDS)

    def _account(self) -> PaperAccount:
        self._round_trip()
        return PaperAccount.objects.get(account_id=self.account_id)

    def holdings(self) -> list[Holding]:
        """The paper exchange's settled delivery holdings, valued at its last prices."""
        rows = PaperHolding.objects.filter(account=self._account()).select_related("instrument")
        return [
            Holding(
                tradingsymbol=row.instrument.tradingsymbol,
                exchange=row.instrument.exchange,
                isin=row.instrument.isin,
                quantity=row.quantity,
                average_price=row.average_price.quantize(CENT),
                last_price=row.instrument.last_price,
                close_price=row.instrument.close_price,
                pnl=((row.instrument.last_price - row.average_price) * row.quantity).quantize(CENT),
                day_change=row.instrument.last_price - row.instrument.close_price,
                sellable_quantity=row.quantity,
                market_value=(row.instrument.last_price * row.quantity).quantize(CENT),
                holding_cost=(row.average_price * row.quantity).quantize(CENT),
                instrument_token=str(row.instrument.token),
            )
            for row in sorted(rows, key=lambda row: row.instrument.tradingsymbol)
        ]

    def positions(self) -> list[Position]:
        """The day's net positions, closed ones included, with Kite's P&L arithmetic."""
        rows = PaperPosition.objects.filter(account=self._account()).select_related("instrument")
        positions = []
        for row in rows:
            figures = ledger.position_figures(row, row.instrument)
            positions.append(Position(
                tradingsymbol=row.instrument.tradingsymbol,
                exchange=row.instrument.exchange,
                product=row.product,
                quantity=figures.quantity,
                average_price=figures.average_price.quantize(CENT),
                last_price=row.instrument.last_price,
                close_price=row.instrument.close_price,
                pnl=figures.pnl.quantize(CENT),
                m2m=figures.m2m.quantize(CENT),
                day_pnl=figures.m2m.quantize(CENT),
                value=figures.value.quantize(CENT),
                buy_quantity=figures.buy_quantity,
                buy_price=figures.buy_price.quantize(CENT),
                sell_quantity=figures.sell_quantity,
                sell_price=figures.sell_price.quantize(CENT),
                overnight_quantity=row.overnight_quantity,
                instrument_token=str(row.instrument.token),
                realised=figures.realised.quantize(CENT),
                unrealised=figures.unrealised.quantize(CENT),
            ))
        return positions

    def funds(self) -> list[SegmentFunds]:
        """Equity funds from the ledger: cash, SPAN-like margin blocked (by positions and open orders), M2M."""
        account = self._account()
        funds = ledger.funds_compute(account, PaperPosition.objects.filter(account=account).select_related("instrument"),
                                     blocked=ledger.open_order_margin(account))
        return [
            SegmentFunds(
                segment=FundsSegment.EQUITY,
                enabled=True,
                net=funds.net.quantize(CENT),
                available={"cash": funds.cash, "intraday_payin": ZERO, "collateral": ZERO,
                           "live_balance": funds.net.quantize(CENT)},
                utilised={"debits": funds.margin_used.quantize(CENT), "exposure": funds.exposure.quantize(CENT),
                          "span": funds.span.quantize(CENT), "option_premium": funds.option_premium.quantize(CENT),
                          "delivery": funds.delivery.quantize(CENT),
                          "m2m_realised": funds.m2m_realised.quantize(CENT),
                          "m2m_unrealised": funds.m2m_unrealised.quantize(CENT),
                          "open_orders": funds.open_orders.quantize(CENT)},
            )
        ]

    def limits(self, *, segment: LimitsSegment, exchange: LimitsExchange, product: LimitsProduct) -> Limits:
        """Limits over the positions and open orders the filters select: cash is shared, margin and M2M are the
        selected ones'.

        The paper exchange is NSE only (cash market and NFO), so BSE selects
        nothing; CASH selects equity, FO futures and options, CUR nothing.
        """
        account = self._account()

        def include(instrument: PaperInstrument, held_as: str) -> bool:
            kind = instrument.instrument_type
            return (exchange in (LimitsExchange.ALL, LimitsExchange.NSE)
                    and (segment == LimitsSegment.ALL
                         or (segment == LimitsSegment.CASH and kind == "EQ")
                         or (segment == LimitsSegment.FO and kind != "EQ"))
                    and product in (LimitsProduct.ALL, held_as))

        positions = PaperPosition.objects.filter(account=account).select_related("instrument")
        funds = ledger.funds_compute(account, positions, include=include,
                                     blocked=ledger.open_order_margin(account, include=include))
        return Limits(
            segment=segment, exchange=exchange, product=product,
            net=funds.net.quantize(CENT), cash=funds.cash, collateral=ZERO, margin_used=funds.margin_used.quantize(CENT),
            breakdown={"span": funds.span.quantize(CENT), "exposure": funds.exposure.quantize(CENT),
                       "mis_margin": funds.mis_margin.quantize(CENT),
                       "option_premium": funds.option_premium.quantize(CENT), "delivery": funds.delivery.quantize(CENT),
                       "m2m_realised": funds.m2m_realised.quantize(CENT),
                       "m2m_unrealised": funds.m2m_unrealised.quantize(CENT),
                       "open_orders": funds.open_orders.quantize(CENT)},
        )

    # --- orders: the paper exchange's order book ---------------------------------------------------

    def instrument_spec(self, *, exchange: str, tradingsymbol: str) -> InstrumentSpec:
        """The paper exchange's own listing."""
        row = PaperInstrument.objects.filter(exchange=exchange, tradingsymbol=tradingsymbol, active=True).first()
        if row is None:
            return InstrumentSpec(known=False)
        if row.instrument_type == "INDEX":
            return InstrumentSpec(known=True, orderable=False)
        return InstrumentSpec(known=True, lot_size=row.lot_size, tick_size=row.tick_size)

    def order_place(self, order: OrderRequest) -> str:
        """Send the order to the paper exchange's book (which finds the account); a refused one stays there as
        REJECTED."""
        self._round_trip()
        instrument = PaperInstrument.objects.filter(exchange=order.exchange, tradingsymbol=order.tradingsymbol).first()
        if instrument is None or not instrument.active:
            raise BrokerOrderRejected(f"Unknown instrument {order.exchange}:{order.tradingsymbol}")
        placed = engine.engine_accept(
            account_id=self.account_id, instrument=instrument, transaction_type=order.transaction_type,
            order_type=order.order_type, product=order.product, quantity=order.quantity, price=order.price,
            trigger_price=order.trigger_price, validity=order.validity, variety=order.variety, tag=order.tag,
            disclosed_quantity=order.disclosed_quantity)
        if placed.status == "REJECTED":
            raise BrokerOrderRejected(placed.status_message)
        return placed.order_id

    def order_modify(self, broker_order_id: str, change: OrderChange, *, variety: str = "regular") -> str:
        """Modify an open order in the paper book."""
        self._account()
        try:
            engine.engine_modify(order_id=broker_order_id, account_id=self.account_id, **vars(change))
        except engine.OrderRefused as refusal:
            raise BrokerOrderRejected(str(refusal)) from refusal
        return broker_order_id

    def order_cancel(self, broker_order_id: str, *, variety: str = "regular") -> str:
        """Cancel an open order in the paper book."""
        self._account()
        try:
            engine.engine_cancel(order_id=broker_order_id, account_id=self.account_id)
        except engine.OrderRefused as refusal:
            raise BrokerOrderRejected(str(refusal)) from refusal
        return broker_order_id

    def orders(self) -> list[BrokerOrder]:
        """The paper book's orders for this account."""
        rows = PaperOrder.objects.filter(account=self._account()).select_related("instrument")
        return [order_report(row) for row in rows]

    def order_history(self, broker_order_id: str) -> list[BrokerOrder]:
        """The paper book keeps an order's latest state only."""
        row = PaperOrder.objects.filter(account=self._account(), order_id=broker_order_id).select_related("instrument").first()
        return [order_report(row)] if row else []

    def trades(self) -> list[Fill]:
        """The paper book's fills for this account."""
        rows = PaperTrade.objects.filter(order__account=self._account()).select_related("order", "order__instrument")
        return [fill_report(row) for row in rows]

    # --- market data: the paper market's own state --------------------------------------------------

    def market_stream(self):
        """The paper market's ticks, read from its rows (no session: every account streams the same market)."""
        return PaperMarketStream()

    def market_open(self, at) -> bool:
        """The paper exchange's own hours: NSE's, or all day with PAPER_MARKET_HOURS=always."""
        return catalogue.session_is_open(at)

    def quotes(self, instruments: Sequence[QuoteInstrument], kind: QuoteKind = QuoteKind.ALL) -> list[Quote]:
        """The paper market's last price, the day's OHLC (close: the previous session's), volume, OI and the
        engine's five levels of depth, for the instruments it lists, in their order (one it does not list is
        left out). LTP asks for the last price alone, OHLC for it and the day's prices."""
        self._round_trip()
        wanted = Q(pk__in=[])
        for instrument in instruments:
            if instrument.token.isdigit():
                wanted |= Q(exchange=instrument.exchange, token=int(instrument.token))
            elif instrument.tradingsymbol:
                wanted |= Q(exchange=instrument.exchange, tradingsymbol=instrument.tradingsymbol)
        rows = list(PaperInstrument.objects.filter(wanted))
        by_token = {(row.exchange, str(row.token)): row for row in rows}
        by_symbol = {(row.exchange, row.tradingsymbol): row for row in rows}
        now, clock = timezone.now(), engine.market_clock()
        quotes = []
        for instrument in instruments:
            row = (by_token.get((instrument.exchange, instrument.token))
                   or by_symbol.get((instrument.exchange, instrument.tradingsymbol)))
            if row is not None:
                quotes.append(paper_quote(instrument, row, kind=kind, received_at=now, clock=clock))
        return quotes
