"""What every adapter promises, checked on each one: the same suite, three brokers."""

from decimal import Decimal

import pytest

from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.adapters.paper.adapter import PaperAdapter
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.domain import (
    BrokerOrder,
    ConnectionStatus,
    Fill,
    Holding,
    InstrumentListing,
    InstrumentSpec,
    LoginStep,
    OrderChange,
    OrderRequest,
    Position,
    SegmentFunds,
)
from brokers.tests.fixtures import KITE_ROOT, NEO_LOGIN_HOST, NEO_TRADE_HOST, wire_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def kotak_neo(neo_wire):
    neo_wire.reply("POST", f"{NEO_LOGIN_HOST}/login/1.0/tradeApiLogin", "login_totp_success.json")
    neo_wire.reply("POST", f"{NEO_LOGIN_HOST}/login/1.0/tradeApiValidate", "login_validate_success.json")
    neo_wire.reply("GET", f"{NEO_TRADE_HOST}/portfolio/v1/holdings", "holdings_success.json")
    neo_wire.reply("GET", f"{NEO_TRADE_HOST}/portfolio/v2/positions", "positions_success.json")
    neo_wire.reply("GET", f"{NEO_TRADE_HOST}/script-details/1.0/quotes/neosymbol/nse_fo|61304/ltp",
                   "quotes_positions.json")
    neo_wire.reply("POST", f"{NEO_TRADE_HOST}/quick/user/limits", "limits_success.json")
    return KotakNeoAdapter, {"consumer_key": "k", "mobile_number": "+919876543210", "ucc": "AB123"}, {"environment": "prod"}, "123456", "654321"


@pytest.fixture
def zerodha(kite_wire):
    kite_wire.reply("POST", "/session/token", "session_token_success.json")
    kite_wire.reply("DELETE", "/session/token", "session_logout.json")
    kite_wire.reply("GET", "/portfolio/holdings", "portfolio_holdings.json")
    kite_wire.reply("GET", "/portfolio/positions", "portfolio_positions.json")
    kite_wire.reply("GET", "/user/margins", "user_margins.json")
    return ZerodhaAdapter, {"api_key": "kitekey123", "api_secret": "s"}, {}, "", "reqTok42"


@pytest.fixture
def paper():
    return PaperAdapter, {}, {"opening_cash": "500000"}, "", ""


@pytest.fixture(params=["kotak_neo", "zerodha", "paper"])
def harness(request):
    return request.getfixturevalue(request.param)


def connect(harness) -> LoginStep:
    """Log in as a user would: one step, or two resumed from the stored session."""
    cls, credentials, options, otp, second_factor = harness
    step = cls(credentials=credentials, session={}, options=options).login_start(otp=otp, state="s1")
    if step.status != ConnectionStatus.CONNECTED:
        step = cls(credentials=credentials, session=dict(step.session), options=options,
                   account_id=step.account_id).login_complete(secret=second_factor)
    return step


def test_login_reaches_connected_with_an_account_and_a_resumable_session(harness):
    cls, credentials, options, otp, second_factor = harness
    step = cls(credentials=credentials, session={}, options=options).login_start(otp=otp, state="s1")
    assert isinstance(step, LoginStep)

    if step.status != ConnectionStatus.CONNECTED:
        assert step.status in (ConnectionStatus.PENDING_MPIN, ConnectionStatus.PENDING_LOGIN)
        # Resume from what was stored, as another process would.
        step = cls(credentials=credentials, session=dict(step.session), options=options,
                   account_id=step.account_id).login_complete(secret=second_factor)

    assert step.status == ConnectionStatus.CONNECTED
    assert step.account_id and step.account_id == step.account_id.upper()
    assert step.expires_at is None or step.expires_at.tzinfo is not None
    assert all(isinstance(value, str) for value in step.session.values())

    # Logout from a fresh adapter built only from the stored session.
    cls(credentials=credentials, session=dict(step.session), options=options, account_id=step.account_id).logout()


def test_broker_names_are_stable(harness):
    cls = harness[0]
    assert cls.broker.value in {"kotak_neo", "zerodha", "paper"}


def test_portfolio_reads_return_domain_types_from_a_stored_session(harness):
    cls, credentials, options = harness[:3]
    step = connect(harness)
    adapter = cls(credentials=credentials, session=dict(step.session), options=options, account_id=step.account_id)

    holdings, positions, funds = adapter.holdings(), adapter.positions(), adapter.funds()

    assert isinstance(holdings, list) and all(isinstance(h, Holding) for h in holdings)
    assert isinstance(positions, list) and all(isinstance(p, Position) for p in positions)
    assert isinstance(funds, list) and funds and all(isinstance(f, SegmentFunds) for f in funds)
    assert all(isinstance(f.net, Decimal) for f in funds)
    assert all(isinstance(p.average_price, Decimal) and isinstance(p.quantity, int) for p in positions)
    assert all(isinstance(h.average_price, Decimal) and isinstance(h.quantity, int) for h in holdings)


# --- orders --------------------------------------------------------------------------------------

@pytest.fixture
def kotak_neo_orders(neo_wire):
    for method, path, fixture in (("POST", "/quick/order/rule/ms/place", "order_place_success.json"),
                                  ("GET", "/quick/user/orders", "orders_book_success.json"),
                                  ("POST", "/quick/order/vr/modify", "order_modify_success.json"),
                                  ("POST", "/quick/order/cancel", "order_cancel_success.json"),
                                  ("GET", "/quick/user/trades", "trades_book_success.json")):
        neo_wire.reply(method, f"{NEO_TRADE_HOST}{path}", fixture)
    return OrderRequest(tradingsymbol="IDEA-EQ", exchange="NSE", transaction_type="BUY", order_type="LIMIT",
                        product="NRML", quantity=1, price=Decimal("9.39"), tag="bt1")


@pytest.fixture
def zerodha_orders(kite_wire):
    book = wire_body("zerodha", "orders_book.json")
    book["data"][4]["order_id"] = "151220000000000"  # the open row, as the order just placed
    kite_wire.mock.add("GET", f"{KITE_ROOT}/orders", json=book)
    for method, path, fixture in (("POST", "/orders/regular", "orders_place_success.json"),
                                  ("PUT", "/orders/regular/151220000000000", "orders_modify_success.json"),
                                  ("DELETE", "/orders/regular/151220000000000", "orders_cancel_success.json"),
                                  ("GET", "/trades", "trades.json")):
        kite_wire.reply(method, path, fixture)
    return OrderRequest(tradingsymbol="INFY", exchange="NSE", transaction_type="BUY", order_type="LIMIT",
                        product="CNC", quantity=1, price=Decimal("1500"), tag="bt1")


@pytest.fixture
def paper_orders(paper_market):
    from brokers.paper.models import PaperInstrument

    below = PaperInstrument.objects.get(tradingsymbol="ITC").last_price - 20
    return OrderRequest(tradingsymbol="ITC", exchange="NSE", transaction_type="BUY", order_type="LIMIT",
                        product="CNC", quantity=1, price=below, tag="bt1")


@pytest.fixture(params=["kotak_neo", "zerodha", "paper"])
def trading(request):
    """(adapter connected as a user would, an order it will take)."""
    harness = request.getfixturevalue(request.param)
    order = request.getfixturevalue(f"{request.param}_orders")
    cls, credentials, options = harness[:3]
    step = connect(harness)
    return cls(credentials=credentials, session=dict(step.session), options=options, account_id=step.account_id), order


def test_an_order_is_placed_found_modified_and_cancelled_in_domain_types(trading):
    adapter, order = trading

    order_id = adapter.order_place(order)

    assert isinstance(order_id, str) and order_id
    book = adapter.orders()
    assert all(isinstance(row, BrokerOrder) for row in book) and order_id in {row.broker_order_id for row in book}
    assert adapter.order_modify(order_id, OrderChange(price=order.price - Decimal("0.05"))) == order_id
    assert adapter.order_cancel(order_id) == order_id
    assert all(isinstance(fill, Fill) and fill.quantity > 0 for fill in adapter.trades())


def test_instrument_answers_are_domain_types_or_none(trading):
    adapter, order = trading

    spec = adapter.instrument_spec(exchange=order.exchange, tradingsymbol=order.tradingsymbol)

    assert spec is None or isinstance(spec, InstrumentSpec)  # None: no current master stored to ask
    assert adapter.publishes_instruments == (adapter.broker.value != "paper")
    if not adapter.publishes_instruments:
        assert adapter.instruments() is None and spec == InstrumentSpec(known=True, lot_size=1,
                                                                        tick_size=Decimal("0.05"))
    else:
        assert spec is None
