"""Seed 001's TOTP then MPIN login through the real Kotak Neo SDK on recorded bodies."""

import json

import pytest

from brokers.models import BrokerConnection
from brokers.tests.fixtures import NEO_LOGIN_HOST
from compat.kotak_integration.tests.support import (
    BASE,
    answer_errors,
    assert_error,
    assert_success,
)

pytestmark = pytest.mark.django_db

LOGIN = f"{NEO_LOGIN_HOST}/login/1.0/tradeApiLogin"
VALIDATE = f"{NEO_LOGIN_HOST}/login/1.0/tradeApiValidate"
# Seed 001's "Step 1: TOTP Login" body as written: its values are placeholders.
DOCUMENT_TOTP = {"user_id": "user123", "access_token": "api_access_token_from_neo_app",
                 "mobile_number": "+91XXXXXXXXXX", "client_code": "CLIENT_CODE", "totp": "123456"}
# The same body with real-looking values (the UCC of the recorded Kotak bodies).
TOTP = {**DOCUMENT_TOTP, "access_token": "PYsI0ULDGQefPAfRsbp0GDwCTE4a", "mobile_number": "+919876543210",
        "client_code": "AB123"}
# Seed 001's "Step 2: MPIN Validation" body, as written.
MPIN = {"user_id": "user123", "mpin": "123456"}


def sent(request) -> dict:
    """What the SDK put on the wire: a JSON body."""
    return json.loads(request.content)


def login(api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_success.json")
    started = api.post(f"{BASE}/login/totp", TOTP, format="json")
    verified = api.post(f"{BASE}/login/mpin", MPIN, format="json")
    return started, verified


def test_the_documents_totp_then_mpin_connects_the_users_kotak_account(trader_api, neo_wire):
    started, verified = login(trader_api, neo_wire)

    view = assert_success(started, "TOTP login successful")
    assert (view["status"], view["kType"]) == ("pending_mpin", "View")
    trade = assert_success(verified, "MPIN validation successful")
    assert trade == {"connection_id": view["connection_id"], "status": "connected", "account_id": "AB123",
                     "kType": "Trade"}
    assert answer_errors("kotak_integration_login_totp", started.json()) == []
    assert answer_errors("kotak_integration_login_mpin", verified.json()) == []
    [login_call] = neo_wire.calls(LOGIN)
    # access_token is Kotak's consumer key, sent as the Authorization header; client_code is the UCC.
    assert login_call.headers["Authorization"] == TOTP["access_token"]
    assert (sent(login_call)["totp"], sent(login_call)["mobileNumber"], sent(login_call)["ucc"]) == (
        "123456", "+919876543210", "AB123")
    assert sent(neo_wire.calls(VALIDATE)[0])["mpin"] == "123456"
    # the same connection /broker/connect/* makes, and no broker token or sid in any answer
    status = trader_api.get("/broker/status").json()
    assert (status["is_connected"], status["account_id"], status["connection_id"]) == (
        True, "AB123", view["connection_id"])
    connection = BrokerConnection.objects.get()
    for secret in (connection.session["edit_token"], connection.session["edit_sid"], TOTP["access_token"]):
        assert secret not in started.content.decode() + verified.content.decode()


def test_the_status_path_reads_the_login_as_broker_status_does(trader_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    trader_api.post(f"{BASE}/login/totp", TOTP, format="json")

    pending = trader_api.get(f"{BASE}/status", {"user_id": "user123"})

    data = assert_success(pending, "Status retrieved successfully")
    assert data == trader_api.get("/broker/status").json()
    assert (data["status"], data["is_connected"], data["mobile_number"]) == ("pending_mpin", False, "3210")
    assert answer_errors("kotak_integration_status", pending.json()) == []


def test_a_second_login_resumes_the_same_connection(trader_api, neo_wire):
    first, _ = login(trader_api, neo_wire)
    again, verified = login(trader_api, neo_wire)

    assert again.json()["data"]["connection_id"] == first.json()["data"]["connection_id"]
    assert verified.json()["data"]["connection_id"] == first.json()["data"]["connection_id"]
    assert BrokerConnection.objects.get().status == "connected"


def test_the_documents_placeholder_body_is_400_naming_its_fields_and_calls_no_broker(trader_api, neo_wire):
    error = assert_error(trader_api.post(f"{BASE}/login/totp", DOCUMENT_TOTP, format="json"), 400)

    assert {"mobile_number", "client_code"} <= set(error["errors"])  # in seed 001's names, not ucc
    assert not neo_wire.calls(LOGIN) and not BrokerConnection.objects.exists()


@pytest.mark.parametrize("body,field", [
    ({**TOTP, "totp": "12345"}, "totp"),
    ({**TOTP, "environment": "test"}, "environment"),
    ({key: value for key, value in TOTP.items() if key != "access_token"}, "access_token"),
    ({key: value for key, value in TOTP.items() if key != "client_code"}, "client_code"),
])
def test_bad_login_input_is_400_naming_seed_001s_field(trader_api, neo_wire, body, field):
    error = assert_error(trader_api.post(f"{BASE}/login/totp", body, format="json"), 400)

    assert field in error["errors"], error
    assert not neo_wire.calls(LOGIN) and not BrokerConnection.objects.exists()


def test_a_wrong_totp_is_400_and_creates_nothing(trader_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_invalid.json", status=401)

    body = assert_error(trader_api.post(f"{BASE}/login/totp", TOTP, format="json"), 400)

    assert "Invalid TOTP" in body["detail"]
    assert not BrokerConnection.objects.exists()


def test_a_wrong_mpin_is_400_and_keeps_the_login_pending(trader_api, neo_wire):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_invalid_mpin.json", status=401)
    trader_api.post(f"{BASE}/login/totp", TOTP, format="json")

    assert "Invalid MPIN" in assert_error(trader_api.post(f"{BASE}/login/mpin", MPIN, format="json"), 400)["detail"]

    assert BrokerConnection.objects.get().status == "pending_mpin"


def test_bad_mpin_input_is_400_and_nothing_pending_is_404(trader_api, neo_wire):
    assert "mpin" in assert_error(trader_api.post(f"{BASE}/login/mpin", {"mpin": "12"}, format="json"),
                                  400)["errors"]
    assert "connection_id" in assert_error(trader_api.post(
        f"{BASE}/login/mpin", {**MPIN, "connection_id": "x"}, format="json"), 400)["errors"]
    assert_error(trader_api.post(f"{BASE}/login/mpin", [1], format="json"), 400)
    assert "login/totp" in assert_error(trader_api.post(f"{BASE}/login/mpin", MPIN, format="json"), 404)["detail"]
    assert not neo_wire.calls(VALIDATE)


def test_another_users_user_id_or_pending_login_is_404_and_never_completed(trader_api, other_api, neo_wire,
                                                                          trader):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_success.json")
    started = assert_success(trader_api.post(f"{BASE}/login/totp", TOTP, format="json"), "TOTP login successful")

    for user_id in ("user123", trader.pk, str(trader.pk), "nobody"):
        assert_error(other_api.post(f"{BASE}/login/totp", {**TOTP, "user_id": user_id}, format="json"), 404)
        assert_error(other_api.post(f"{BASE}/login/mpin", {**MPIN, "user_id": user_id}, format="json"), 404)
    own = {key: value for key, value in MPIN.items() if key != "user_id"}
    assert_error(other_api.post(f"{BASE}/login/mpin", own, format="json"), 404)  # nothing of theirs pending
    named = {**own, "connection_id": started["connection_id"]}
    assert_error(other_api.post(f"{BASE}/login/mpin", named, format="json"), 404)
    assert len(neo_wire.calls(LOGIN)) == 1 and not neo_wire.calls(VALIDATE)
    assert BrokerConnection.objects.get().status == "pending_mpin"


def test_staff_naming_the_user_completes_that_users_login(trader_api, make_user, client_for, neo_wire, trader):
    neo_wire.reply("POST", LOGIN, "login_totp_success.json")
    neo_wire.reply("POST", VALIDATE, "login_validate_success.json")
    trader_api.post(f"{BASE}/login/totp", TOTP, format="json")
    staff = client_for(make_user("desk", is_staff=True))

    verified = assert_success(staff.post(f"{BASE}/login/mpin", {**MPIN, "user_id": trader.pk}, format="json"),
                              "MPIN validation successful")

    assert verified["account_id"] == "AB123"
    assert BrokerConnection.objects.get().user == trader
