"""ZerodhaAdapter login through the real kiteconnect SDK against recorded Kite responses."""

from datetime import datetime
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import pytest
import requests

from brokers.adapters.base import (
    BrokerAuthRejected,
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
)
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.adapters.zerodha.mapping import session_expiry
from brokers.domain import ConnectionStatus

IST = ZoneInfo("Asia/Kolkata")
CREDENTIALS = {"api_key": "kitekey123", "api_secret": "kitesecret456"}


def adapter(session=None):
    return ZerodhaAdapter(credentials=CREDENTIALS, session=session or {})


def test_login_start_gives_kite_login_url_carrying_state():
    step = adapter().login_start(state="abc:123")

    url = urlparse(step.login_url)
    query = parse_qs(url.query)
    assert (url.netloc, url.path) == ("kite.zerodha.com", "/connect/login")
    assert query["api_key"] == ["kitekey123"] and query["v"] == ["3"]
    assert query["redirect_params"] == ["state=abc:123"]
    assert step.status == ConnectionStatus.PENDING_LOGIN


def test_login_complete_exchanges_request_token_with_checksum(kite_wire):
    kite_wire.reply("POST", "/session/token", "session_token_success.json")

    step = adapter().login_complete(secret="reqTok42")

    body = parse_qs(kite_wire.calls("/session/token")[0].request.body)
    assert body["request_token"] == ["reqTok42"]
    # SHA-256(api_key + request_token + api_secret), as Kite checks it.
    import hashlib

    assert body["checksum"] == [hashlib.sha256(b"kitekey123reqTok42kitesecret456").hexdigest()]
    assert step.status == ConnectionStatus.CONNECTED
    assert step.account_id == "ZX4821"
    assert step.session["access_token"] == "kAcc3ssT0kenValue9"
    assert step.profile["user_name"] == "Asha Rao"
    # Logged in 2021-01-01 16:15:14 IST: valid until 06:00 IST the next morning.
    assert step.expires_at == datetime(2021, 1, 2, 6, 0, tzinfo=IST)


@pytest.mark.parametrize(
    "fixture,status",
    [("session_token_invalid.json", 403), ("session_token_bad_checksum.json", 400)],
)
def test_login_complete_with_expired_reused_or_mismatched_token_is_rejected(kite_wire, fixture, status):
    kite_wire.reply("POST", "/session/token", fixture, status=status)

    with pytest.raises(BrokerAuthRejected) as caught:
        adapter().login_complete(secret="usedTok")

    assert caught.value.status_code == 400
    assert "request token" in caught.value.detail


def test_broker_5xx_is_a_bad_gateway(kite_wire):
    kite_wire.reply("POST", "/session/token", "server_error.json", status=502)

    with pytest.raises(BrokerError) as caught:
        adapter().login_complete(secret="reqTok42")

    assert caught.value.status_code == 502


def test_broker_5xx_without_json_is_a_bad_gateway(kite_wire):
    kite_wire.mock.add("POST", "https://api.kite.trade/session/token", body="<html>503</html>",
                       status=503, content_type="text/html")

    with pytest.raises(BrokerError) as caught:
        adapter().login_complete(secret="reqTok42")

    assert caught.value.status_code == 502


def test_timeout_and_unreachable_map_to_504_and_503(kite_wire):
    kite_wire.fail("POST", "/session/token", requests.ReadTimeout("read timed out"))
    with pytest.raises(BrokerTimeout):
        adapter().login_complete(secret="reqTok42")

    kite_wire.mock.reset()
    kite_wire.fail("POST", "/session/token", requests.ConnectionError("refused"))
    with pytest.raises(BrokerUnavailable):
        adapter().login_complete(secret="reqTok42")


def test_logout_invalidates_the_access_token(kite_wire):
    kite_wire.reply("DELETE", "/session/token", "session_logout.json")

    adapter({"access_token": "kAcc3ssT0kenValue9"}).logout()

    call = kite_wire.calls("/session/token")[0]
    assert call.request.method == "DELETE"
    assert parse_qs(urlparse(call.request.url).query)["access_token"] == ["kAcc3ssT0kenValue9"]


@pytest.mark.parametrize(
    "login,expected",
    [
        (datetime(2026, 11, 23, 5, 59, tzinfo=IST), datetime(2026, 11, 23, 6, 0, tzinfo=IST)),
        (datetime(2026, 11, 23, 6, 0, tzinfo=IST), datetime(2026, 11, 24, 6, 0, tzinfo=IST)),
        (datetime(2026, 11, 23, 23, 30), datetime(2026, 11, 24, 6, 0, tzinfo=IST)),
    ],
)
def test_session_expires_at_the_next_six_am_ist(login, expected):
    assert session_expiry(login, now=login) == expected


def test_token_exception_on_a_session_call_is_session_expired(kite_wire):
    from brokers.adapters.base import BrokerSessionExpired

    kite_wire.reply("DELETE", "/session/token", "session_expired.json", status=403)

    with pytest.raises(BrokerSessionExpired) as caught:
        adapter({"access_token": "revoked"}).logout()

    assert caught.value.status_code == 409
