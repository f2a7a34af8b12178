"""BudhiTrade's own broker vocabulary: what every adapter speaks upward."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import models


class Broker(models.TextChoices):
    KOTAK_NEO = "kotak_neo", "Kotak Neo"
    ZERODHA = "zerodha", "Zerodha"
    PAPER = "paper", "Paper"


class ConnectionStatus(models.TextChoices):
    PENDING_MPIN = "pending_mpin", "Pending MPIN"
    PENDING_LOGIN = "pending_login", "Pending broker login"
    CONNECTED = "connected", "Connected"
    EXPIRED = "expired", "Session expired"
    DISCONNECTED = "disconnected", "Disconnected"
    ERROR = "error", "Error"


@dataclass(frozen=True)
class LoginStep:
    """Where a login stands after one step, and what to keep for the next."""

    status: ConnectionStatus
    message: str
    session: Mapping[str, Any] = field(default_factory=dict)
    account_id: str = ""
    login_url: str = ""
    expires_at: datetime | None = None
    profile: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Holding:
    """A delivery holding (seed 004 §4 field names). Money in rupees as Decimal.

    `quantity` is settled shares; `t1_quantity` those bought on the previous
    session and not yet settled (the broker's P&L covers both). Where the
    broker gave no price, `last_price`, `pnl` and `day_change` are None, never
    a made-up 0. `market_value` and `holding_cost` are the broker's own
    figures where it sends them (else computed over quantity + t1_quantity).
    """

    tradingsymbol: str
    exchange: str
    isin: str
    quantity: int
    average_price: Decimal
    last_price: Decimal | None
    close_price: Decimal
    pnl: Decimal | None
    day_change: Decimal | None
    product: str = "CNC"
    collateral_quantity: int = 0
    collateral_type: str = ""
    t1_quantity: int = 0
    sellable_quantity: int | None = None
    market_value: Decimal | None = None
    holding_cost: Decimal | None = None
    instrument_token: str = ""


@dataclass(frozen=True)
class Position:
    """A net position for the day (seed 004 §2 field names).

    Where the broker gave no last price, `last_price`, `pnl`, `m2m`,
    `day_pnl` and `unrealised` are None (never 0); `realised` and the
    quantities stand. `multiplier` is the contract's units per quoted price
    (commodity lots): value and capital are price x quantity x multiplier.
    """

    tradingsymbol: str
    exchange: str
    product: str
    quantity: int
    average_price: Decimal
    last_price: Decimal | None
    close_price: Decimal
    pnl: Decimal | None
    m2m: Decimal | None
    day_pnl: Decimal | None
    value: Decimal
    buy_quantity: int
    buy_price: Decimal
    sell_quantity: int
    sell_price: Decimal
    overnight_quantity: int
    instrument_token: str = ""
    multiplier: Decimal = Decimal("1")
    realised: Decimal = Decimal("0")
    unrealised: Decimal | None = None


class FundsSegment(models.TextChoices):
    EQUITY = "equity", "Equity"
    COMMODITY = "commodity", "Commodity"


@dataclass(frozen=True)
class SegmentFunds:
    """Funds of one segment (seed 004 §5): `available` and `utilised` hold its named amounts."""

    segment: FundsSegment
    enabled: bool
    net: Decimal
    available: Mapping[str, Decimal]
    utilised: Mapping[str, Decimal]


@dataclass(frozen=True)
class PortfolioSnapshot:
    """Everything a sync fetches from a broker in one round."""

    holdings: tuple[Holding, ...]
    positions: tuple[Position, ...]
    funds: tuple[SegmentFunds, ...]


# Seed 002's limits filters (GET /api/portfolio/limits); the values are the ones Kotak's limits call takes.
class LimitsSegment(models.TextChoices):
    ALL = "ALL", "All segments"
    CASH = "CASH", "Cash (equity)"
    CUR = "CUR", "Currency derivatives"
    FO = "FO", "Futures and options"


class LimitsExchange(models.TextChoices):
    ALL = "ALL", "All exchanges"
    NSE = "NSE", "NSE"
    BSE = "BSE", "BSE"


class LimitsProduct(models.TextChoices):
    ALL = "ALL", "All products"
    NRML = "NRML", "Normal (carry forward)"
    CNC = "CNC", "Cash and carry (delivery)"
    MIS = "MIS", "Intraday"


@dataclass(frozen=True)
class Limits:
    """Trading limits for one segment/exchange/product filter: four headline amounts and every other named one."""

    segment: LimitsSegment
    exchange: LimitsExchange
    product: LimitsProduct
    net: Decimal
    cash: Decimal
    collateral: Decimal
    margin_used: Decimal
    breakdown: Mapping[str, Decimal] = field(default_factory=dict)

    @classmethod
    def from_funds(
        cls, funds: SegmentFunds, *, segment: LimitsSegment, exchange: LimitsExchange, product: LimitsProduct
    ) -> Limits:
        """net is the funds' net, cash and collateral their available amounts, margin_used the utilised debits."""
        available, utilised = dict(funds.available), dict(funds.utilised)
        return cls(
            segment=segment,
            exchange=exchange,
            product=product,
            net=funds.net,
            cash=available.pop("cash", Decimal("0")),
            collateral=available.pop("collateral", Decimal("0")),
            margin_used=utilised.pop("debits", Decimal("0")),
            breakdown={**available, **utilised},
        )

    def zeroed(self) -> Limits:
        """The same names, every amount zero: for a filter that no funds stand behind."""
        zero = Decimal("0")
        return replace(
            self, net=zero, cash=zero, collateral=zero, margin_used=zero,
            breakdown={name: zero for name in self.breakdown},
        )


# --- Orders -----------------------------------------------------------------------------------

class OrderStatus(models.TextChoices):
    """Seed 004's statuses, plus BudhiTrade's own in-flight ones."""

    PENDING = "PENDING", "Saved, being sent to the broker"
    UNKNOWN = "UNKNOWN", "Sent; the broker did not answer"
    OPEN = "OPEN", "Open at the exchange"
    TRIGGER_PENDING = "TRIGGER PENDING", "Stop order waiting for its trigger"
    COMPLETE = "COMPLETE", "Filled"
    REJECTED = "REJECTED", "Rejected"
    CANCELLED = "CANCELLED", "Cancelled"


FINAL_ORDER_STATUSES = frozenset({OrderStatus.COMPLETE, OrderStatus.REJECTED, OrderStatus.CANCELLED})


@dataclass(frozen=True)
class OrderRequest:
    """What a user asks a broker to do (seed 004 §3.2 field names)."""

    tradingsymbol: str
    exchange: str
    transaction_type: str  # BUY, SELL
    order_type: str  # MARKET, LIMIT, SL, SL-M
    product: str  # CNC, MIS, NRML
    quantity: int
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    disclosed_quantity: int = 0
    validity: str = "DAY"  # DAY, IOC
    variety: str = "regular"  # regular, amo
    tag: str = ""


@dataclass(frozen=True)
class OrderChange:
    """A modification: only the fields given change."""

    quantity: int | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    order_type: str | None = None
    validity: str | None = None


@dataclass(frozen=True)
class BrokerOrder:
    """One order as the broker's order book reports it."""

    broker_order_id: str
    status: OrderStatus
    tradingsymbol: str
    exchange: str
    transaction_type: str
    order_type: str
    product: str
    quantity: int
    filled_quantity: int
    pending_quantity: int
    price: Decimal
    trigger_price: Decimal
    average_price: Decimal
    status_message: str = ""
    tag: str = ""
    exchange_order_id: str = ""
    variety: str = "regular"
    validity: str = "DAY"
    order_timestamp: datetime | None = None
    exchange_timestamp: datetime | None = None
    cancelled_quantity: int = 0
    disclosed_quantity: int = 0
    validity_ttl: int | None = None  # minutes, for a TTL validity
    exchange_update_timestamp: datetime | None = None


@dataclass(frozen=True)
class Fill:
    """One trade (a fill of an order) as the broker's trade book reports it."""

    trade_id: str
    broker_order_id: str
    tradingsymbol: str
    exchange: str
    transaction_type: str
    product: str
    quantity: int
    price: Decimal
    exchange_order_id: str = ""
    fill_timestamp: datetime | None = None
    exchange_timestamp: datetime | None = None


# The longest trading symbol and name an instrument master row keeps (BrokerInstrument's columns).
INSTRUMENT_SYMBOL_LENGTH, INSTRUMENT_NAME_LENGTH = 64, 100


@dataclass(frozen=True)
class Instrument:
    """One row of a broker's instrument master, in BudhiTrade's exchange and instrument-type names."""

    exchange: str  # NSE, BSE, NFO, BFO, MCX
    tradingsymbol: str  # as the broker takes it in an order
    token: str  # the broker's own id for it (Kite's instrument_token, Kotak's pSymbol)
    name: str  # the underlying or company
    instrument_type: str  # EQ, FUT, CE, PE, or INDEX (quotable, not orderable)
    lot_size: int
    tick_size: Decimal
    expiry: date | None = None
    strike: Decimal = Decimal("0")


@dataclass(frozen=True)
class InstrumentListing:
    """A broker's instrument master as downloaded, and the day it is of where the broker says so."""

    instruments: list[Instrument]
    published_on: date | None = None


@dataclass(frozen=True)
class InstrumentSpec:
    """What an order must respect about an instrument; `known=False` means the broker does not list it."""

    known: bool
    lot_size: int = 1
    tick_size: Decimal = Decimal("0.05")
    orderable: bool = True  # False for an index: quotable and streamable, never ordered


@dataclass(frozen=True)
class OrderProgress:
    """A pushed order update (a broker's order feed): what moved, not the whole order."""

    broker_order_id: str
    status: OrderStatus
    filled_quantity: int
    pending_quantity: int
    average_price: Decimal
    exchange_order_id: str = ""
    status_message: str = ""
    cancelled_quantity: int = 0


# --- Market data ------------------------------------------------------------------------------

class QuoteKind(models.TextChoices):
    """What a quote call asks for (seed 002's quote_type)."""

    ALL = "all", "Everything the broker has"
    DEPTH = "depth", "Five levels of market depth"
    OHLC = "ohlc", "Open, high, low, close"
    LTP = "ltp", "Last traded price"
    OI = "oi", "Open interest"
    WEEK_52 = "52w", "52-week high and low"
    CIRCUIT_LIMITS = "circuit_limits", "Upper and lower circuit limits"
    SCRIP_DETAILS = "scrip_details", "Instrument details"


@dataclass(frozen=True)
class QuoteInstrument:
    """An instrument to price: BudhiTrade's exchange name and the broker's token or trading symbol."""

    exchange: str  # NSE, BSE, NFO, BFO, MCX, CDS
    token: str = ""
    tradingsymbol: str = ""


@dataclass(frozen=True)
class DepthLevel:
    """One price level of market depth."""

    price: Decimal
    quantity: int
    orders: int | None = None


@dataclass(frozen=True)
class Quote:
    """One instrument's market snapshot; what the broker did not send is None (depth empty)."""

    instrument: QuoteInstrument
    received_at: datetime
    last_price: Decimal | None = None
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    close: Decimal | None = None
    change: Decimal | None = None
    volume: int | None = None
    average_price: Decimal | None = None
    last_quantity: int | None = None
    oi: int | None = None
    oi_day_high: int | None = None
    oi_day_low: int | None = None
    buy_quantity: int | None = None
    sell_quantity: int | None = None
    bids: tuple[DepthLevel, ...] = ()
    asks: tuple[DepthLevel, ...] = ()
    week_52_high: Decimal | None = None
    week_52_low: Decimal | None = None
    upper_circuit: Decimal | None = None
    lower_circuit: Decimal | None = None
    last_trade_at: datetime | None = None
    exchange_timestamp: datetime | None = None
