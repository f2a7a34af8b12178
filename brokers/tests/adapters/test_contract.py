"""What every adapter promises, checked on each one: the same suite, three brokers."""

import pytest

from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.adapters.paper.adapter import PaperAdapter
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.domain import ConnectionStatus, LoginStep
from brokers.tests.fixtures import NEO_LOGIN_HOST

pytestmark = pytest.mark.django_db


@pytest.fixture
def kotak_neo(neo_wire):
    neo_wire.reply("POST", f"{NEO_LOGIN_HOST}/login/1.0/tradeApiLogin", "login_totp_success.json")
    neo_wire.reply("POST", f"{NEO_LOGIN_HOST}/login/1.0/tradeApiValidate", "login_validate_success.json")
    return KotakNeoAdapter, {"consumer_key": "k", "mobile_number": "+919876543210", "ucc": "AB123"}, {"environment": "prod"}, "123456", "654321"


@pytest.fixture
def zerodha(kite_wire):
    kite_wire.reply("POST", "/session/token", "session_token_success.json")
    kite_wire.reply("DELETE", "/session/token", "session_logout.json")
    return ZerodhaAdapter, {"api_key": "kitekey123", "api_secret": "s"}, {}, "", "reqTok42"


@pytest.fixture
def paper():
    return PaperAdapter, {}, {"opening_cash": "500000"}, "", ""


@pytest.fixture(params=["kotak_neo", "zerodha", "paper"])
def harness(request):
    return request.getfixturevalue(request.param)


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
