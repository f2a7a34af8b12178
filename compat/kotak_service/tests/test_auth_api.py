"""Seed 002's TOTP then MPIN login through the real Kotak Neo SDK on recorded bodies, and its logout."""

import json

import pytest
from channels.db import database_sync_to_async

from brokers.market.tests.listings import paper_listing  # noqa: F401 (a fixture)
from brokers.market.tests.test_market_socket import WAIT, connected_market
from brokers.models import BrokerConnection
from brokers.tests.fixtures import NEO_LOGIN_HOST


LOGIN = f"{NEO_LOGIN_HOST}/login/1.0/tradeApiLogin"
VALIDATE = f"{NEO_LOGIN_HOST}/login/1.0/tradeApiValidate"
# Seed 002's "Recommended: Use TOTP Flow" bodies, as written.
TOTP_LOGIN = {"mobile_number": "+919876543210", "ucc": "XVZAX", "totp": "123456",
              "consumer_key": "PYsI0ULDGQefPAfRsbp0GDwCTE4a", "consumer_secret": "LBhr5QwByT15x9v0qPgU_PDG4XUa",
              "environment": "prod"}
TOTP_VALIDATE = {"mpin": "1234"}


def assert_error(response, status):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status_code"] == status and isinstance(body["detail"], str) and body["detail"]
    return body


def sent(request) -> dict:
    """What the SDK put on the wire: a JSON body."""
    return json.loads(request.content)


def login(api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_success.json")
    started = api.post("/api/auth/totp-login", TOTP_LOGIN, format="json")
    assert started.status_code == 200, started.content
    verified = api.post("/api/auth/totp-validate", TOTP_VALIDATE, format="json")
    assert verified.status_code == 200, verified.content
    return started.json(), verified.json()


@pytest.mark.django_db
def test_the_documents_totp_then_mpin_connects_the_callers_kotak_account(user_api, neo_wire):
    started, verified = login(user_api, neo_wire)

    assert (started["status"], started["data"]["status"], started["data"]["broker"]) == (
        "success", "pending_mpin", "kotak_neo")
    assert "/api/auth/totp-validate" in started["message"]
    assert verified == {"status": "success", "message": "Broker connected successfully", "data": {
        "connection_id": started["data"]["connection_id"], "status": "connected", "broker": "kotak_neo",
        "account_id": "AB123"}}
    [login_call] = neo_wire.calls(LOGIN)
    assert sent(login_call)["totp"] == "123456" and login_call.headers["Authorization"] == TOTP_LOGIN["consumer_key"]
    assert sent(neo_wire.calls(VALIDATE)[0])["mpin"] == "1234"
    status = user_api.get("/broker/status").json()  # the same connection as /broker/connect/* makes
    assert (status["is_connected"], status["account_id"], status["connection_id"]) == (
        True, "AB123", started["data"]["connection_id"])


@pytest.mark.django_db
def test_a_second_login_resumes_the_same_connection(user_api, neo_wire):
    first, _ = login(user_api, neo_wire)
    _, verified = login(user_api, neo_wire)

    # Kotak names the account AB123 only at validate: the second login completes into the first's row.
    assert verified["data"]["connection_id"] == first["data"]["connection_id"]
    assert BrokerConnection.objects.get().status == "connected"


@pytest.mark.django_db
def test_a_wrong_totp_is_400_and_creates_nothing(user_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_invalid.json", status=401)

    body = assert_error(user_api.post("/api/auth/totp-login", TOTP_LOGIN, format="json"), 400)

    assert "Invalid TOTP" in body["detail"]
    assert not BrokerConnection.objects.exists()


@pytest.mark.django_db
def test_a_wrong_mpin_is_400_and_keeps_the_login_pending(user_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_invalid_mpin.json", status=401)
    user_api.post("/api/auth/totp-login", TOTP_LOGIN, format="json")

    assert_error(user_api.post("/api/auth/totp-validate", TOTP_VALIDATE, format="json"), 400)

    assert BrokerConnection.objects.get().status == "pending_mpin"


@pytest.mark.django_db
@pytest.mark.parametrize("body,field", [
    ({**TOTP_LOGIN, "totp": "12345"}, "totp"),
    ({**TOTP_LOGIN, "ucc": "YOUR_UCC"}, "ucc"),  # the document's placeholder is not a UCC
    ({**TOTP_LOGIN, "mobile_number": "string"}, "mobile_number"),
    ({**TOTP_LOGIN, "environment": "test"}, "environment"),
    ({key: value for key, value in TOTP_LOGIN.items() if key != "consumer_key"}, "consumer_key"),
])
def test_bad_login_input_is_400_naming_the_field_and_calls_no_broker(user_api, neo_wire, body, field):
    error = assert_error(user_api.post("/api/auth/totp-login", body, format="json"), 400)

    assert field in error["errors"]
    assert not neo_wire.calls(LOGIN) and not BrokerConnection.objects.exists()


@pytest.mark.django_db
def test_bad_mpin_input_is_400_and_nothing_pending_is_404(user_api, neo_wire):
    assert "mpin" in assert_error(user_api.post("/api/auth/totp-validate", {"mpin": "12"}, format="json"),
                                  400)["errors"]
    assert_error(user_api.post("/api/auth/totp-validate", [1], format="json"), 400)
    assert_error(user_api.post("/api/auth/totp-validate", TOTP_VALIDATE, format="json"), 404)


@pytest.mark.django_db
def test_another_users_pending_login_is_never_completed(user_api, other_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_success.json")
    started = user_api.post("/api/auth/totp-login", TOTP_LOGIN, format="json").json()

    assert_error(other_api.post("/api/auth/totp-validate", TOTP_VALIDATE, format="json"), 404)
    named = {**TOTP_VALIDATE, "connection_id": started["data"]["connection_id"]}
    assert_error(other_api.post("/api/auth/totp-validate", named, format="json"), 404)
    assert_error(other_api.post("/api/auth/logout"), 404)
    assert not neo_wire.calls(VALIDATE)
    assert BrokerConnection.objects.get().status == "pending_mpin"


@pytest.mark.django_db
def test_logout_ends_the_kotak_session_and_logging_out_again_is_the_same_success(user_api, neo_wire):
    login(user_api, neo_wire)

    answer = user_api.post("/api/auth/logout")

    assert answer.json() == {"message": "Logged out successfully", "websockets_closed": True}
    connection = BrokerConnection.objects.get()
    assert (connection.status, connection.session) == ("disconnected", {})
    again = user_api.post("/api/auth/logout")
    assert again.status_code == 200 and again.json()["message"] == "Logged out successfully"
    assert_error(user_api.get("/api/orders"), 404)  # no live account left to act on


@database_sync_to_async
def _connect_paper(api) -> str:
    return api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]


@database_sync_to_async
def _logout(api, account_id):
    answer = api.post("/api/auth/logout", HTTP_X_ACCOUNT_ID=account_id)
    return answer.status_code, answer.json()


@pytest.mark.django_db(transaction=True)
async def test_logout_closes_the_market_sockets_of_that_account_only(user, client_for, paper_listing):
    api = client_for(user)
    first, second = await _connect_paper(api), await _connect_paper(api)
    leaving, _ = await connected_market(user, "tab-a", f"&account_id={first}")
    staying, _ = await connected_market(user, "tab-b", f"&account_id={second}")

    assert await _logout(api, first) == (200, {"message": "Logged out successfully", "websockets_closed": True})

    goodbye = json.loads(await leaving.receive_from(timeout=WAIT))
    assert (goodbye["type"], goodbye["event"]) == ("status", "disconnected")
    assert await leaving.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 4000}
    assert await staying.receive_nothing(timeout=0.5)
    await leaving.disconnect()
    await staying.disconnect()
