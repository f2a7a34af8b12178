"""Seed 003's paths, with the document's own example bodies: the setup, login URL and activation through the real
kiteconnect SDK on Kite's recorded answers, then the dashboard; isolation and bad input."""

import json
import logging
from urllib.parse import parse_qs, urlparse

import pytest

from brokers.models import BrokerConnection
from brokers.tests.test_api_connect import assert_error_shape

pytestmark = pytest.mark.django_db

SETUP = "/api/v1/auth/first-time-api-setup"
LOGIN_URL = "/api/v1/dashboard/zerodha/login-url"
ACTIVATE = "/api/v1/dashboard/activate-brokerage"
DASHBOARD = "/api/v1/dashboard/dashboard"
# Seed 003's own bodies, as written.
SETUP_BODY = {"api_key": "your_zerodha_api_key", "api_secret": "your_zerodha_api_secret", "broker": "zerodha"}
ACTIVATE_BODY = {"brokerage": "zerodha", "api_url": "https://api.kite.trade", "api_key": "your_zerodha_api_key",
                 "api_secret": "your_zerodha_api_secret", "request_token": "request_token_from_step_4"}
ACCESS_TOKEN = "kAcc3ssT0kenValue9"  # session_token_success.json's, which must never be answered


def wire_portfolio(kite_wire):
    kite_wire.reply("POST", "/session/token", "session_token_success.json")
    kite_wire.reply("GET", "/portfolio/holdings", "portfolio_holdings.json")
    kite_wire.reply("GET", "/portfolio/positions", "portfolio_positions.json")
    kite_wire.reply("GET", "/user/margins", "user_margins.json")


def ok(response) -> dict:
    assert response.status_code == 200, response.content
    assert ACCESS_TOKEN not in response.content.decode()
    return response.json()


def test_the_documents_four_steps_connect_zerodha_and_show_its_dashboard(user_api, kite_wire, caplog):
    wire_portfolio(kite_wire)
    caplog.set_level(logging.INFO, logger="budhitrade.brokers")

    setup = ok(user_api.post(SETUP, SETUP_BODY, format="json"))
    login = ok(user_api.get(LOGIN_URL))
    activated = ok(user_api.post(ACTIVATE, {k: v for k, v in ACTIVATE_BODY.items()
                                            if k not in ("api_key", "api_secret")}, format="json"))
    dashboard = ok(user_api.get(DASHBOARD))

    assert (setup["status"], setup["broker"]) == ("pending_login", "zerodha")
    assert login["connection_id"] == setup["connection_id"]  # the login set up, not another
    url = urlparse(login["login_url"])
    assert (url.netloc, parse_qs(url.query)["api_key"]) == ("kite.zerodha.com", ["your_zerodha_api_key"])
    assert "request_token" in login["message"]
    assert activated == {"message": "zerodha activated successfully", "session_id": setup["connection_id"],
                         "account_id": "ZX4821", "status": "connected"}
    [token_call] = kite_wire.calls("/session/token")
    assert parse_qs(token_call.request.body)["request_token"] == ["request_token_from_step_4"]
    connection = BrokerConnection.objects.get()
    assert connection.session["access_token"] == ACCESS_TOKEN  # kept, encrypted, never answered
    assert dashboard == ok(user_api.get("/dashboard"))  # seed 003's dashboard is the unified one
    assert dashboard["activity_status"]["is_active"] is True
    assert {row["account_id"] for row in dashboard["ongoing_trades"]} == {"ZX4821"}
    events = [record.getMessage() for record in caplog.records]
    for event in ("zerodha_login_url_generated", "zerodha_session_created", "brokerage_activated"):
        assert event in events
    assert not [r for r in caplog.records if ACCESS_TOKEN in json.dumps(r.__dict__, default=str)]


def test_activation_with_the_api_credentials_needs_no_earlier_setup(user_api, kite_wire):
    wire_portfolio(kite_wire)

    activated = ok(user_api.post(ACTIVATE, ACTIVATE_BODY, format="json"))

    connection = BrokerConnection.objects.get()
    assert activated["session_id"] == str(connection.pk) and connection.status == "connected"
    assert connection.credentials == {"api_key": "your_zerodha_api_key", "api_secret": "your_zerodha_api_secret"}


def test_a_rejected_request_token_is_400_and_the_login_keeps_waiting(user_api, kite_wire):
    kite_wire.reply("POST", "/session/token", "session_token_invalid.json", status=403)
    user_api.post(SETUP, SETUP_BODY, format="json")

    body = assert_error_shape(user_api.post(ACTIVATE, {"brokerage": "zerodha", "request_token": "usedTok"},
                                            format="json"), 400)

    assert "request token" in body["detail"]
    connection = BrokerConnection.objects.get()
    assert connection.status == "pending_login" and connection.last_error


def test_an_expired_account_logs_in_again_through_the_login_url(user_api, kite_wire, kite_wired_account):
    kite_wire.reply("POST", "/session/token", "session_token_success.json")
    BrokerConnection.objects.filter(pk=kite_wired_account.pk).update(status="expired")

    login = ok(user_api.get(LOGIN_URL, HTTP_X_ACCOUNT_ID="ZX4821"))
    activated = ok(user_api.post(ACTIVATE, {"brokerage": "zerodha", "request_token": "reqTok42"}, format="json"))

    assert parse_qs(urlparse(login["login_url"]).query)["api_key"] == ["kitekey123"]  # the credentials stored
    assert activated["session_id"] == str(kite_wired_account.pk)  # the same account: one row, reconnected
    assert list(BrokerConnection.objects.values_list("status", flat=True)) == ["connected"]


def test_nothing_set_up_is_404_on_the_login_url_and_activation(user_api):
    assert "first-time-api-setup" in assert_error_shape(user_api.get(LOGIN_URL), 404)["detail"]
    assert_error_shape(user_api.post(ACTIVATE, {"brokerage": "zerodha", "request_token": "t1"}, format="json"), 404)
    assert not BrokerConnection.objects.exists()


def test_another_users_logins_and_accounts_are_never_found(user_api, other_api, kite_wire, kite_wired_account):
    kite_wire.reply("POST", "/session/token", "session_token_success.json")
    ok(user_api.post(SETUP, SETUP_BODY, format="json"))
    before = list(BrokerConnection.objects.values_list("pk", "status", "user_id"))

    assert_error_shape(other_api.get(LOGIN_URL), 404)
    assert_error_shape(other_api.get(LOGIN_URL, HTTP_X_ACCOUNT_ID="ZX4821"), 404)
    assert_error_shape(other_api.post(ACTIVATE, {"brokerage": "zerodha", "request_token": "reqTok42"},
                                      format="json"), 404)
    assert_error_shape(other_api.get(DASHBOARD, HTTP_X_ACCOUNT_ID="ZX4821"), 404)
    assert other_api.get(DASHBOARD).json()["ongoing_trades"] == []

    assert list(BrokerConnection.objects.values_list("pk", "status", "user_id")) == before
    assert kite_wire.calls("/session/token") == []


@pytest.mark.parametrize(("path", "body", "field"), [
    (SETUP, {**SETUP_BODY, "broker": "upstox"}, "broker"),
    (SETUP, {**SETUP_BODY, "api_key": "key with spaces"}, "api_key"),
    (SETUP, {"broker": "zerodha", "api_key": "k1"}, "api_secret"),
    (ACTIVATE, {**ACTIVATE_BODY, "brokerage": "kotak"}, "brokerage"),
    (ACTIVATE, {**ACTIVATE_BODY, "api_url": "https://api.example.com"}, "api_url"),
    (ACTIVATE, {k: v for k, v in ACTIVATE_BODY.items() if k != "request_token"}, "request_token"),
    (ACTIVATE, {k: v for k, v in ACTIVATE_BODY.items() if k != "api_secret"}, "api_secret"),
    (ACTIVATE, {**ACTIVATE_BODY, "request_token": "a;b"}, "request_token"),
])
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(user_api, kite_wire, path, body, field):
    body = assert_error_shape(user_api.post(path, body, format="json"), 400)

    assert field in body["errors"]
    assert not BrokerConnection.objects.exists()
    assert kite_wire.calls("/session/token") == []


@pytest.mark.parametrize("path", [SETUP, ACTIVATE])
def test_a_body_that_is_not_an_object_is_400(user_api, path):
    assert_error_shape(user_api.post(path, ["zerodha"], format="json"), 400)
    assert not BrokerConnection.objects.exists()


@pytest.mark.parametrize(("method", "path"), [("post", SETUP), ("get", LOGIN_URL), ("post", ACTIVATE),
                                              ("get", DASHBOARD)])
def test_every_path_needs_a_jwt(api, method, path):
    assert_error_shape(getattr(api, method)(path, {}, format="json"), 401)


def test_the_dashboard_shows_a_paper_account_as_the_unified_one(user_api):
    user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json")

    dashboard = ok(user_api.get(DASHBOARD))

    assert dashboard == ok(user_api.get("/dashboard"))
    assert dashboard["unused_funds"] > 0 and dashboard["activity_status"]["is_active"] is True
