"""The BrokerAdapter interface and the errors every adapter raises.

An adapter is built from a connection's decrypted credentials and stored
session, so any process (web, worker, beat) can act for a user. Everything it
returns is BudhiTrade's own domain types; wire formats stop inside it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from budhitrade.errors import ServiceError

if TYPE_CHECKING:
    from brokers.adapters.streams import MarketStream
from brokers.pushes import OrderPush, Push
from brokers.domain import (
    Broker,
    BrokerOrder,
    Fill,
    InstrumentListing,
    InstrumentSpec,
    OrderChange,
    OrderProgress,
    OrderRequest,
    FundsSegment,
    Holding,
    Limits,
    LimitsExchange,
    LimitsProduct,
    LimitsSegment,
    LoginStep,
    Position,
    Quote,
    QuoteInstrument,
    QuoteKind,
    SegmentFunds,
)


class BrokerError(ServiceError):
    """The broker failed or answered something unusable (502)."""

    status_code = 502
    default_detail = "The broker could not complete the request."


class BrokerUnavailable(BrokerError):
    """The broker could not be reached (503)."""

    status_code = 503
    default_detail = "The broker cannot be reached right now."


class BrokerTimeout(BrokerError):
    """The broker did not answer within BROKER_TIMEOUT_SECONDS (504)."""

    status_code = 504
    default_detail = "The broker did not answer in time."


class BrokerAuthRejected(BrokerError):
    """The broker refused what the user gave it: TOTP, MPIN, keys or request token (400)."""

    status_code = 400
    default_detail = "The broker rejected the login details."


class BrokerOrderRejected(BrokerError):
    """The broker refused an order, a modification or a cancellation, with its reason (400)."""

    status_code = 400
    default_detail = "The broker rejected the order."


class BrokerSessionExpired(BrokerError):
    """The stored broker session is no longer valid; the user must reconnect (409)."""

    status_code = 409
    default_detail = "The broker session has expired; reconnect the account."


class BrokerAdapter(ABC):
    """One broker behind BudhiTrade's domain types.

    Login is two steps (`login_start`, `login_complete`) for every broker;
    brokers that need only one answer CONNECTED from the first.
    """

    broker: ClassVar[Broker]
    # True where every login opens a fresh account (paper), so no earlier
    # unfinished connection is reused.
    opens_new_account: ClassVar[bool] = False
    # True where the broker publishes a daily instrument master that `instruments()` downloads.
    publishes_instruments: ClassVar[bool] = False
    # True where the broker streams order updates that `order_updates()` yields: the order-feed process holds
    # that stream open for each connected account.
    streams_order_updates: ClassVar[bool] = False
    # True where every change the exchange makes to an order reaches BudhiTrade as a push carrying its fills, as it
    # happens (applied right after the exchange's commit, inside the adapter call that made it): nothing is left
    # for a reconcile to learn but what a process that died mid-call left PENDING or UNKNOWN.
    pushes_every_change: ClassVar[bool] = False
    # True where `market_stream()` streams market data (ticks) for the account's instruments.
    streams_market_data: ClassVar[bool] = False
    # True where the market data is the same for every account (the paper market): one upstream stream serves
    # every user. Otherwise a stream carries the data of the one session it came from, for that user alone.
    market_data_shared: ClassVar[bool] = False
    # True where quotes and the market stream take an index by its name, not a token (Kotak Neo: "Nifty 50").
    index_token_is_name: ClassVar[bool] = False
    # True where order_place takes cover and bracket products (CO, BO).
    places_cover_bracket_orders: ClassVar[bool] = False
    # True where order_place takes validities beyond the day (GTC, EOS, GTD).
    places_long_validity_orders: ClassVar[bool] = False
    # How many market streams one API key may hold at once (Kite: 3 of 3,000 instruments each).
    market_streams_per_key: ClassVar[int] = 1
    # The seed-002 limits segments that the broker's equity funds pay for
    # (besides ALL); limits() answers zero for the others.
    equity_limits_segments: ClassVar[frozenset[LimitsSegment]] = frozenset(
        {LimitsSegment.CASH, LimitsSegment.FO}
    )

    @classmethod
    def account_id_hint(cls, credentials: Mapping[str, Any]) -> str:
        """The broker account id, where the login details already name it."""
        return ""

    @classmethod
    def push_account_id(cls, payload: Mapping[str, Any]) -> str:
        """The broker account that a push the broker posted to BudhiTrade is for, as the push names it."""
        raise NotImplementedError

    def __init__(
        self,
        *,
        credentials: Mapping[str, Any],
        session: Mapping[str, Any],
        options: Mapping[str, Any] | None = None,
        account_id: str = "",
    ) -> None:
        self.credentials = credentials
        self.session = session
        self.options = options or {}
        self.account_id = account_id

    def call_wait(self) -> float:
        """Take one call from the account's broker API budget, for each broker call beyond a method's first
        (a batch of quotes); nothing until the registry binds the adapter to a stored connection."""
        return 0.0

    @abstractmethod
    def login_start(self, *, otp: str = "", state: str = "") -> LoginStep:
        """Begin a login: `otp` is a one-time code, `state` a value to carry through a redirect."""

    def login_complete(self, *, secret: str) -> LoginStep:
        """Finish a login with the second factor (MPIN, request token)."""
        raise BrokerAuthRejected(f"{self.broker.label} logins complete in one step.")

    @abstractmethod
    def logout(self) -> None:
        """End the broker session where the broker allows it."""

    @abstractmethod
    def holdings(self) -> list[Holding]:
        """The account's delivery holdings."""

    @abstractmethod
    def positions(self) -> list[Position]:
        """The account's net positions for the day."""

    @abstractmethod
    def funds(self) -> list[SegmentFunds]:
        """Funds per segment (equity, and commodity where the broker has it)."""

    # --- orders: each names the broker API it calls ---------------------------------------------

    def instruments(self) -> InstrumentListing | None:
        """The broker's whole instrument master for the day; None where the adapter lists its own (paper)."""
        return None

    def instrument_spec(self, *, exchange: str, tradingsymbol: str) -> InstrumentSpec | None:
        """Lot and tick size of an instrument from the broker's stored master; None while that is not today's."""
        from brokers.selectors import instrument_spec_get

        return instrument_spec_get(broker=self.broker, exchange=exchange, tradingsymbol=tradingsymbol)

    def order_place(self, order: OrderRequest) -> str:
        """Place an order; the broker's order id. BrokerOrderRejected when the broker refuses it."""
        raise NotImplementedError

    def order_modify(self, broker_order_id: str, change: OrderChange, *, variety: str = "regular") -> str:
        """Modify an open order; the broker's order id."""
        raise NotImplementedError

    def order_cancel(self, broker_order_id: str, *, variety: str = "regular") -> str:
        """Cancel an open order; the broker's order id."""
        raise NotImplementedError

    def orders(self) -> list[BrokerOrder]:
        """The day's order book, each order at its latest state."""
        raise NotImplementedError

    def order_history(self, broker_order_id: str) -> list[BrokerOrder]:
        """Every state one order passed through, oldest first."""
        raise NotImplementedError

    def trades(self) -> list[Fill]:
        """The day's trade book."""
        raise NotImplementedError

    def order_updates(self) -> AsyncIterator[OrderProgress]:
        """The broker's order feed, where it has one: each update as it happens, until the feed ends."""
        raise NotImplementedError

    def order_from_push(self, payload: Mapping[str, Any]) -> BrokerOrder:
        """An order update the broker pushed to us, once its signature is checked (BrokerAuthRejected if not)."""
        raise NotImplementedError

    # --- pushes: what the broker sends unasked, as domain objects (brokers/pushes.py) ----------------

    def push_from_wire(self, payload: Mapping[str, Any]) -> Push:
        """A push the broker posted to BudhiTrade, signature checked (BrokerAuthRejected if it fails)."""
        return OrderPush(update=self.order_from_push(payload))

    async def pushes(self) -> AsyncIterator[Push]:
        """Everything the broker streams for the account, as pushes, until its stream ends."""
        async for progress in self.order_updates():
            yield OrderPush(update=progress)

    # --- market data ---------------------------------------------------------------------------

    def quotes(self, instruments: Sequence[QuoteInstrument], kind: QuoteKind = QuoteKind.ALL) -> list[Quote]:
        """Quotes for the instruments, in their order; the broker's batch limits and pacing are the adapter's own."""
        raise NotImplementedError

    def market_stream(self) -> "MarketStream":
        """A new, unopened upstream market-data stream for this session (brokers/adapters/streams.py)."""
        raise NotImplementedError

    def market_open(self, at: datetime) -> bool:
        """Whether the exchange is trading at `at`: NSE's session by default."""
        from brokers.calendar import session_is_open

        return session_is_open(at)

    def limits(
        self, *, segment: LimitsSegment, exchange: LimitsExchange, product: LimitsProduct
    ) -> Limits:
        """Limits derived from funds(): the equity segment's funds, which NSE and BSE and every product share.

        So the exchange and product filters do not change the amounts; ALL and
        `equity_limits_segments` get the equity funds, any other segment (CUR
        where the broker has no currency segment) the same names at zero.
        Commodity funds fall under none of these filters and are left out.
        """
        equity = next((f for f in self.funds() if f.segment == FundsSegment.EQUITY), None)
        if equity is None:
            zero = Decimal("0")
            return Limits(segment=segment, exchange=exchange, product=product,
                          net=zero, cash=zero, collateral=zero, margin_used=zero)
        limits = Limits.from_funds(equity, segment=segment, exchange=exchange, product=product)
        if segment == LimitsSegment.ALL or segment in self.equity_limits_segments:
            return limits
        return limits.zeroed()
