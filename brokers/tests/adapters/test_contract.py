"""What every adapter promises, checked on each one: the same suite, three brokers."""

from decimal import Decimal

import pytest

from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.adapters.paper.adapter import PaperAdapter
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.domain import ConnectionStatus, Holding, LoginStep, Position, SegmentFunds
from brokers.tests.fixtures import NEO_LOGIN_HOST, NEO_TRADE_HOST

pytestmark = pytest.mark.django_db


@pytest.fixture
def kotak_neo(neo_wire):
    neo_wire.reply("POST", f"{NEO_LOGIN_HOST}/login/1.0/tradeApiLogin", "login_totp_success.json")
    neo_wire.reply("POST", f"{NEO_LOGIN_HOST}/login/1.0/tradeApiValidate", "login_validate_success.json")
    neo_wire.reply("GET", f"{NEO_TRADE_HOST}/portfolio/v1/holdings", "holdings_success.json")
    neo_wire.reply("GET", f"{NEO_TRADE_HOST}/portfolio/v2/positions", "positions_success.json")
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
