"""Connecting, verifying, status and disconnect through the API, for every broker."""

import socket
import threading
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
import requests
from django.db import connection as db
from django.urls import reverse

from brokers.models import BrokerConnection
from brokers.paper.models import PaperAccount
from brokers.services import login_state_sign
from brokers.tests.fixtures import NEO_LOGIN_HOST

pytestmark = pytest.mark.django_db

LOGIN = f"{NEO_LOGIN_HOST}/login/1.0/tradeApiLogin"
VALIDATE = f"{NEO_LOGIN_HOST}/login/1.0/tradeApiValidate"
KOTAK_BODY = {
    "broker": "kotak_neo",
    "consumer_key": "neoConsumerKey1",
    "consumer_secret": "neoConsumerSecret1",
    "mobile_number": "+919876543210",
    "ucc": "ab123",
    "totp": "123456",
}
ZERODHA_BODY = {"broker": "zerodha", "api_key": "kitekey123", "api_secret": "kitesecret456"}


def assert_error_shape(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status_code"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    return body


# --- Kotak Neo: TOTP then MPIN ----------------------------------------------

def test_kotak_totp_then_mpin_connects(user_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_success.json")

    started = user_api.post("/broker/connect/initiate", KOTAK_BODY, format="json")
    assert started.status_code == 200
    assert started.json()["status"] == "pending_mpin"
    verified = user_api.post(
        "/broker/connect/verify", {"connection_id": started.json()["connection_id"], "mpin": "654321"}, format="json"
    )

    assert verified.status_code == 200
    assert verified.json() == {
        "message": "Broker connected successfully",
        "status": "connected",
        "account_id": "AB123",
        "connection_id": started.json()["connection_id"],
    }
    status = user_api.get("/broker/status").json()
    assert status["is_connected"] is True
    assert status["broker_name"] == "kotak_neo"
    assert status["mobile_number"] == "3210"
    assert status["last_connected_at"]


def test_kotak_otp_field_is_taken_as_the_mpin(user_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_success.json")
    user_api.post("/broker/connect/initiate", KOTAK_BODY, format="json")

    verified = user_api.post("/broker/connect/verify", {"otp": "654321"}, format="json")

    assert verified.json()["status"] == "connected"
    assert "654321" in neo_wire.calls(VALIDATE)[0].content.decode()


def test_kotak_wrong_totp_is_400_and_creates_nothing(user_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_invalid.json", status=401)

    response = user_api.post("/broker/connect/initiate", KOTAK_BODY, format="json")

    body = assert_error_shape(response, 400)
    assert "Invalid TOTP" in body["detail"]
    assert not BrokerConnection.objects.exists()


def test_kotak_wrong_mpin_keeps_pending_connection_with_its_error(user_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_invalid_mpin.json", status=401)
    user_api.post("/broker/connect/initiate", KOTAK_BODY, format="json")

    response = user_api.post("/broker/connect/verify", {"mpin": "111111"}, format="json")

    assert_error_shape(response, 400)
    connection = BrokerConnection.objects.get()
    assert connection.status == "pending_mpin"
    assert "Invalid MPIN" in connection.last_error
    assert connection.session["view_token"]  # the user can retry the MPIN


@pytest.mark.parametrize(
    "failure,status", [(httpx.ReadTimeout, 504), (httpx.ConnectError, 503)]
)
def test_kotak_broker_down_is_5xx(user_api, neo_wire, failure, status):
    neo_wire.fail("POST", LOGIN, failure)

    response = user_api.post("/broker/connect/initiate", KOTAK_BODY, format="json")

    assert_error_shape(response, status)
    assert not BrokerConnection.objects.exists()


def test_kotak_5xx_on_mpin_keeps_connection_pending(user_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "session_expired.json", status=500)
    user_api.post("/broker/connect/initiate", KOTAK_BODY, format="json")

    response = user_api.post("/broker/connect/verify", {"mpin": "654321"}, format="json")

    assert_error_shape(response, 502)
    connection = BrokerConnection.objects.get()
    assert connection.status == "pending_mpin" and "HTTP 500" in connection.last_error


@pytest.mark.parametrize(
    "extra,fragment",
    [({"password": "pw"}, "TOTP"), ({"method": "qr"}, "TOTP")],
)
def test_retired_kotak_logins_are_400_pointing_to_totp(user_api, neo_wire, extra, fragment):
    response = user_api.post("/broker/connect/initiate", {**KOTAK_BODY, **extra}, format="json")

    body = assert_error_shape(response, 400)
    assert fragment in str(body)
    assert neo_wire.requests == []


@pytest.mark.parametrize("path", ["/api/auth/qr-link", "/api/auth/qr-session"])
def test_retired_qr_endpoints_are_400(user_api, path):
    body = assert_error_shape(user_api.post(path, {}, format="json"), 400)
    assert "TOTP" in body["detail"]


# --- Zerodha: login URL, redirect callback with signed state ---------------

def start_zerodha(user_api):
    response = user_api.post("/broker/connect/initiate", ZERODHA_BODY, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    state = parse_qs(parse_qs(urlparse(body["login_url"]).query)["redirect_params"][0])["state"][0]
    return body, state


def test_zerodha_login_url_then_callback_connects_and_redirects(user_api, api, kite_wire, settings):
    settings.FRONTEND_URL = "http://localhost:3000/brokers"
    kite_wire.reply("POST", "/session/token", "session_token_success.json")
    body, state = start_zerodha(user_api)
    assert body["status"] == "pending_login"
    assert body["login_url"].startswith("https://kite.zerodha.com/connect/login?api_key=kitekey123&v=3&redirect_params=")

    response = api.get("/broker/zerodha/callback", {"status": "success", "request_token": "reqTok42", "state": state})

    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert target.path == "/brokers"
    assert parse_qs(target.query) == {"broker": ["zerodha"], "status": ["connected"], "account_id": ["ZX4821"]}
    connection = BrokerConnection.objects.get()
    assert connection.status == "connected" and connection.account_id == "ZX4821"
    assert connection.session["access_token"] == "kAcc3ssT0kenValue9"


def test_zerodha_verify_with_request_token_connects(user_api, kite_wire):
    kite_wire.reply("POST", "/session/token", "session_token_success.json")
    body, _ = start_zerodha(user_api)

    response = user_api.post(
        "/broker/connect/verify", {"connection_id": body["connection_id"], "request_token": "reqTok42"}, format="json"
    )

    assert response.json()["account_id"] == "ZX4821"


def test_zerodha_reused_request_token_is_400_and_keeps_pending(user_api, kite_wire):
    kite_wire.reply("POST", "/session/token", "session_token_invalid.json", status=403)
    start_zerodha(user_api)

    response = user_api.post("/broker/connect/verify", {"request_token": "usedTok"}, format="json")

    body = assert_error_shape(response, 400)
    assert "request token" in body["detail"]
    connection = BrokerConnection.objects.get()
    assert connection.status == "pending_login" and connection.last_error


def test_zerodha_callback_with_tampered_or_expired_state_is_400(api, user_api, settings):
    body, state = start_zerodha(user_api)

    tampered = api.get("/broker/zerodha/callback", {"status": "success", "request_token": "t", "state": state + "x"})
    assert_error_shape(tampered, 400)

    settings.ZERODHA_LOGIN_STATE_MAX_AGE = -1
    expired = api.get("/broker/zerodha/callback", {"status": "success", "request_token": "t", "state": state})
    assert "expired" in assert_error_shape(expired, 400)["detail"]
    assert BrokerConnection.objects.get().status == "pending_login"


def test_zerodha_callback_broker_failure_redirects_with_error(api, user_api, kite_wire):
    kite_wire.reply("POST", "/session/token", "server_error.json", status=502)
    _, state = start_zerodha(user_api)

    response = api.get("/broker/zerodha/callback", {"status": "success", "request_token": "t1", "state": state})

    assert response.status_code == 302
    assert parse_qs(urlparse(response["Location"]).query)["status"] == ["error"]
    assert BrokerConnection.objects.get().status == "pending_login"


def test_zerodha_reconnect_of_known_account_keeps_one_row(user_api, kite_wire):
    kite_wire.reply("POST", "/session/token", "session_token_success.json")
    for _ in range(2):
        start_zerodha(user_api)
        user_api.post("/broker/connect/verify", {"request_token": "reqTok42"}, format="json")

    assert BrokerConnection.objects.filter(broker="zerodha").count() == 1


class _BlackHole:
    """A TCP server that accepts connections and never answers."""

    def __enter__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        self.clients = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def _accept(self):
        while True:
            try:
                self.clients.append(self.server.accept()[0])
            except OSError:
                return

    def __exit__(self, *exc):
        self.server.close()
        for client in self.clients:
            client.close()


def test_zerodha_that_never_answers_is_504_within_the_timeout(user_api, settings):
    settings.BROKER_TIMEOUT_SECONDS = 0.5
    start_zerodha(user_api)
    with _BlackHole() as hole:
        settings.ZERODHA_API_ROOT = f"http://127.0.0.1:{hole.port}"
        started = time.monotonic()
        response = user_api.post("/broker/connect/verify", {"request_token": "reqTok42"}, format="json")
        elapsed = time.monotonic() - started

    assert_error_shape(response, 504)
    assert elapsed < 5  # bounded by BROKER_TIMEOUT_SECONDS, not by the OS


def test_zerodha_unreachable_is_503(user_api, settings):
    start_zerodha(user_api)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.ZERODHA_API_ROOT = f"http://127.0.0.1:{closed_port}"

    response = user_api.post("/broker/connect/verify", {"request_token": "reqTok42"}, format="json")

    assert_error_shape(response, 503)


# --- Paper ------------------------------------------------------------------

def test_paper_connects_at_once_with_default_opening_cash(user_api):
    response = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json")

    body = response.json()
    assert body["status"] == "connected" and body["account_id"].startswith("PA")
    assert PaperAccount.objects.get(account_id=body["account_id"]).opening_cash == 1000000


def test_second_paper_account_status_and_disconnect(user_api):
    first = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()
    second = user_api.post(
        "/broker/connect/initiate", {"broker": "paper", "opening_cash": "250000.50"}, format="json"
    ).json()
    assert first["account_id"] != second["account_id"]

    ambiguous = user_api.get("/broker/status")
    assert_error_shape(ambiguous, 400)
    status = user_api.get("/broker/status", HTTP_X_ACCOUNT_ID=second["account_id"]).json()
    assert status["is_connected"] is True and status["account_id"] == second["account_id"]

    response = user_api.post("/broker/disconnect", HTTP_X_ACCOUNT_ID=second["account_id"])
    assert response.json() == {"message": "Broker disconnected successfully"}
    status = user_api.get("/broker/status", HTTP_X_ACCOUNT_ID=second["account_id"]).json()
    assert status["status"] == "disconnected" and status["is_connected"] is False
    # With the second one gone, "the" account is the first one again.
    assert user_api.get("/broker/status").json()["account_id"] == first["account_id"]


# --- Status after a disconnect (000: is_connected false, status "disconnected") ------------

def connect_kotak(user_api, neo_wire) -> dict:
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_success.json")
    user_api.post("/broker/connect/initiate", KOTAK_BODY, format="json")
    return user_api.post("/broker/connect/verify", {"mpin": "654321"}, format="json").json()


def assert_disconnected(response, broker: str, account_id: str):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["is_connected"] is False
    assert body["status"] == "disconnected"
    assert body["broker_name"] == broker and body["account_id"] == account_id
    assert body["last_connected_at"]
    return body


def test_status_after_disconnecting_the_only_kotak_connection_says_disconnected(user_api, neo_wire):
    connected = connect_kotak(user_api, neo_wire)
    assert user_api.post("/broker/disconnect").status_code == 200

    plain = assert_disconnected(user_api.get("/broker/status"), "kotak_neo", connected["account_id"])
    assert plain["mobile_number"] == "3210"
    assert_disconnected(user_api.get("/broker/status", {"broker": "kotak_neo"}), "kotak_neo", "AB123")
    assert_disconnected(user_api.get("/broker/status", HTTP_X_ACCOUNT_ID="AB123"), "kotak_neo", "AB123")
    assert_disconnected(user_api.get("/broker/status", HTTP_X_ACCOUNT_ID="ab123"), "kotak_neo", "AB123")


def test_status_after_disconnect_stays_404_for_another_user_and_for_other_brokers(user_api, other_api, neo_wire):
    connect_kotak(user_api, neo_wire)
    user_api.post("/broker/disconnect")

    assert_error_shape(other_api.get("/broker/status"), 404)
    assert_error_shape(other_api.get("/broker/status", HTTP_X_ACCOUNT_ID="AB123"), 404)
    assert_error_shape(other_api.get("/broker/status", {"broker": "kotak_neo"}), 404)
    assert_error_shape(user_api.get("/broker/status", {"broker": "zerodha"}), 404)


def test_status_prefers_a_live_connection_and_names_a_disconnected_one_by_broker(user_api, neo_wire):
    connect_kotak(user_api, neo_wire)
    user_api.post("/broker/disconnect")
    paper = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()

    live = user_api.get("/broker/status").json()
    assert live["is_connected"] is True and live["account_id"] == paper["account_id"]
    assert_disconnected(user_api.get("/broker/status", {"broker": "kotak_neo"}), "kotak_neo", "AB123")


def test_status_with_every_connection_disconnected_is_the_last_one_disconnected(user_api):
    first = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()
    second = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()
    user_api.post("/broker/disconnect", HTTP_X_ACCOUNT_ID=second["account_id"])
    user_api.post("/broker/disconnect", HTTP_X_ACCOUNT_ID=first["account_id"])

    assert_disconnected(user_api.get("/broker/status"), "paper", first["account_id"])
    assert_disconnected(user_api.get("/broker/status", HTTP_X_ACCOUNT_ID=second["account_id"]), "paper",
                        second["account_id"])


def test_status_of_a_user_who_never_connected_is_404(user_api):
    assert_error_shape(user_api.get("/broker/status"), 404)


def test_disconnecting_again_changes_nothing(user_api, neo_wire):
    connect_kotak(user_api, neo_wire)
    user_api.post("/broker/disconnect")
    before = BrokerConnection.objects.get()

    again = user_api.post("/broker/disconnect", HTTP_X_ACCOUNT_ID="AB123")
    plain = user_api.post("/broker/disconnect")

    assert again.json() == plain.json() == {"message": "Broker disconnected successfully"}
    after = BrokerConnection.objects.get()
    assert after.status == "disconnected" and after.last_error == ""
    assert after.updated_at == before.updated_at


def test_reconnecting_after_disconnect_shows_connected_again(user_api, neo_wire):
    connect_kotak(user_api, neo_wire)
    user_api.post("/broker/disconnect")

    connect_kotak(user_api, neo_wire)

    status = user_api.get("/broker/status").json()
    assert status["is_connected"] is True and status["status"] == "connected" and status["account_id"] == "AB123"
    assert BrokerConnection.objects.count() == 1


# --- Ownership and bad input -------------------------------------------------

def test_another_users_connection_is_404_everywhere(user_api, other_api):
    mine = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()

    assert_error_shape(other_api.get("/broker/status", HTTP_X_ACCOUNT_ID=mine["account_id"]), 404)
    assert_error_shape(other_api.get("/broker/status", {"connection_id": mine["connection_id"]}), 404)
    assert_error_shape(other_api.post("/broker/disconnect", HTTP_X_ACCOUNT_ID=mine["account_id"]), 404)
    assert_error_shape(
        other_api.post("/broker/connect/verify", {"connection_id": mine["connection_id"], "mpin": "1234"}, format="json"),
        404,
    )
    assert BrokerConnection.objects.get().status == "connected"


@pytest.mark.parametrize(
    "body",
    [
        {"broker": "kotak_neo"},
        {**KOTAK_BODY, "totp": "12345"},
        {**KOTAK_BODY, "totp": 123456.5},
        {**KOTAK_BODY, "mobile_number": ["+919876543210"]},
        {**KOTAK_BODY, "ucc": "AB-12"},
        {"broker": "upstox"},
        {"broker": "zerodha", "api_key": "k"},
        {"broker": "paper", "opening_cash": "-5"},
        {"broker": "paper", "opening_cash": "lots"},
        ["broker", "paper"],
    ],
)
def test_bad_initiate_input_is_400_and_creates_nothing(user_api, neo_wire, body):
    response = user_api.post("/broker/connect/initiate", body, format="json")

    result = assert_error_shape(response, 400)
    assert neo_wire.requests == []
    assert not BrokerConnection.objects.exists()
    if isinstance(body, dict) and body.get("broker") != "upstox":
        assert result.get("errors")


@pytest.mark.parametrize(
    "body", [{}, {"mpin": "12"}, {"mpin": "1234", "request_token": "abc"}, {"mpin": "1234", "connection_id": "nope"}]
)
def test_bad_verify_input_is_400(user_api, body):
    assert_error_shape(user_api.post("/broker/connect/verify", body, format="json"), 400)


def test_verify_with_nothing_pending_is_404(user_api):
    assert_error_shape(user_api.post("/broker/connect/verify", {"mpin": "1234"}, format="json"), 404)


def test_non_json_and_oversized_bodies_are_4xx_and_create_nothing(user_api, settings):
    not_json = user_api.post("/broker/connect/initiate", "broker=paper", content_type="text/plain")
    assert_error_shape(not_json, 415)
    broken = user_api.post("/broker/connect/initiate", '{"broker": "paper"', content_type="application/json")
    assert_error_shape(broken, 400)
    # The shipped limits: the product's own, and Django's never above it.
    assert settings.MAX_REQUEST_BODY_BYTES == 256 * 1024 >= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    huge = user_api.post(
        "/broker/connect/initiate", {"broker": "paper", "pad": "x" * settings.MAX_REQUEST_BODY_BYTES}, format="json"
    )
    assert_error_shape(huge, 413)
    assert not BrokerConnection.objects.exists()


def test_connection_endpoints_need_a_jwt(api):
    for method, path in [("post", "/broker/connect/initiate"), ("get", "/broker/status"), ("post", "/broker/disconnect")]:
        assert_error_shape(getattr(api, method)(path), 401)


# --- Secrets at rest -----------------------------------------------------------

def test_no_secret_is_stored_or_returned_in_plaintext(user_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_success.json")
    started = user_api.post("/broker/connect/initiate", KOTAK_BODY, format="json")
    verified = user_api.post("/broker/connect/verify", {"mpin": "654321"}, format="json")
    status = user_api.get("/broker/status")

    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM brokers_brokerconnection")
        raw_row = " ".join(str(value) for value in cursor.fetchone())
    returned = started.content.decode() + verified.content.decode() + status.content.decode()
    for secret in ["neoConsumerKey1", "neoConsumerSecret1", "9876543210", "123456", "654321", "2c4e6a8b-1d3f", "eyJhbGci"]:
        assert secret not in raw_row, secret
        assert secret not in returned, secret
