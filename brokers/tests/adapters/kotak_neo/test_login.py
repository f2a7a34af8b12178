"""KotakNeoAdapter login through the real neo_api_client SDK against recorded Neo responses."""

import json
from datetime import datetime, timezone

import httpx
import pytest

from brokers.adapters.base import (
    BrokerAuthRejected,
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
)
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.domain import ConnectionStatus
from brokers.tests.fixtures import NEO_LOGIN_HOST

LOGIN = f"{NEO_LOGIN_HOST}/login/1.0/tradeApiLogin"
VALIDATE = f"{NEO_LOGIN_HOST}/login/1.0/tradeApiValidate"
CREDENTIALS = {"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"}


def adapter(session=None):
    return KotakNeoAdapter(credentials=CREDENTIALS, session=session or {}, options={"environment": "prod"})


def test_totp_login_sends_mobile_ucc_totp_and_keeps_the_view_session(neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")

    step = adapter().login_start(otp="123456")

    request = neo_wire.calls(LOGIN)[0]
    assert json.loads(request.content) == {"mobileNumber": "+919876543210", "ucc": "AB123", "totp": "123456"}
    assert request.headers["Authorization"] == "neoConsumerKey1"
    assert step.status == ConnectionStatus.PENDING_MPIN
    assert step.account_id == "AB123"
    assert step.session["sid"] == "8f8cd1ab-46e6-41cc-9bdd-9412c5fd4fb7"
    assert step.session["view_token"].startswith("eyJ")


def test_mpin_validate_resumes_view_session_and_returns_trade_session(neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_success.json")
    view = adapter().login_start(otp="123456")

    # A fresh adapter from the stored session, as another process would build it.
    step = adapter(dict(view.session)).login_complete(secret="654321")

    request = neo_wire.calls(VALIDATE)[0]
    assert json.loads(request.content) == {"mpin": "654321"}
    assert request.headers["sid"] == view.session["sid"]
    assert request.headers["Auth"] == view.session["view_token"]
    assert step.status == ConnectionStatus.CONNECTED
    assert step.account_id == "AB123"
    assert step.session["edit_sid"] == "2c4e6a8b-1d3f-4a5b-8c7d-9e0f1a2b3c4d"
    assert step.session["base_url"] == "https://e43.kotaksecurities.com"
    assert "view_token" not in step.session
    # The trade token's own exp claim.
    assert step.expires_at == datetime.fromtimestamp(1893456000, tz=timezone.utc)
    assert step.profile["user_name"] == "RAVI KUMAR"


def test_wrong_totp_is_rejected_with_kotaks_reason(neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_invalid.json", status=401)

    with pytest.raises(BrokerAuthRejected) as caught:
        adapter().login_start(otp="000000")

    assert caught.value.status_code == 400
    assert "Invalid TOTP" in caught.value.detail


def test_wrong_mpin_is_rejected(neo_wire):
    neo_wire.reply("POST", VALIDATE, "login_validate_invalid_mpin.json", status=401)

    with pytest.raises(BrokerAuthRejected) as caught:
        adapter({"view_token": "eyJ.view", "sid": "sid-1"}).login_complete(secret="111111")

    assert "Invalid MPIN" in caught.value.detail


def test_mpin_before_totp_is_rejected_without_a_call(neo_wire):
    with pytest.raises(BrokerAuthRejected):
        adapter().login_complete(secret="111111")
    assert neo_wire.requests == []


@pytest.mark.parametrize(
    "failure,expected",
    [(httpx.ReadTimeout, BrokerTimeout), (httpx.ConnectError, BrokerUnavailable)],
)
def test_timeout_and_unreachable(neo_wire, failure, expected):
    neo_wire.fail("POST", LOGIN, failure)

    with pytest.raises(expected):
        adapter().login_start(otp="123456")


def test_broker_5xx_is_a_bad_gateway(neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_invalid.json", status=503)

    with pytest.raises(BrokerError) as caught:
        adapter().login_start(otp="123456")

    assert caught.value.status_code == 502


def test_login_succeeds_when_the_feed_url_lookup_fails(neo_wire):
    from brokers.tests.fixtures import NEO_CONFIG_URL

    neo_wire.reply("POST", VALIDATE, "login_validate_success.json")
    neo_wire.fail("GET", NEO_CONFIG_URL, httpx.ReadTimeout)

    step = adapter({"view_token": "eyJ.view", "sid": "sid-1"}).login_complete(secret="654321")

    assert step.status == ConnectionStatus.CONNECTED


TRADE_SESSION = {
    "edit_token": "eyJ.trade", "edit_sid": "sid-2", "edit_rid": "rid-2",
    "base_url": "https://e43.kotaksecurities.com", "ucc": "AB123",
}
LIMITS = "https://e43.kotaksecurities.com/quick/user/limits"


def neo_client(session):
    from brokers.adapters.kotak_neo.client import KotakNeoClient

    return KotakNeoClient(consumer_key="neoConsumerKey1", environment="prod", session=session)


def test_resumed_session_calls_the_trade_host_with_its_tokens(neo_wire):
    neo_wire.reply("POST", LIMITS, "limits_success.json")

    neo_client(TRADE_SESSION).limits()

    request = neo_wire.calls(LIMITS)[0]
    assert request.headers["Sid"] == "sid-2" and request.headers["Auth"] == "eyJ.trade"


@pytest.mark.parametrize("status", [401, 403])
def test_expired_trade_session_is_recognised(neo_wire, status):
    from brokers.adapters.base import BrokerSessionExpired

    neo_wire.reply("POST", LIMITS, "session_expired.json", status=status)

    with pytest.raises(BrokerSessionExpired):
        neo_client(TRADE_SESSION).limits()


def test_missing_trade_session_is_recognised_without_a_call(neo_wire):
    from brokers.adapters.base import BrokerSessionExpired

    with pytest.raises(BrokerSessionExpired):
        neo_client({}).limits()
    assert neo_wire.requests == []
