"""The API's common ground: auth, error shape, rate limits, schema, health."""

import pytest
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db


def test_root_says_running(api):
    response = api.get("/")
    assert response.json() == {"message": "BudhiTrade API running"}


def test_register_then_token_then_refresh(api):
    created = api.post("/api/auth/register", {"username": "meera", "password": "Tr4ding-Desk!", "email": "m@example.in"}, format="json")
    assert created.status_code == 201
    assert created.json()["username"] == "meera" and isinstance(created.json()["id"], int)

    tokens = api.post("/api/auth/token", {"username": "meera", "password": "Tr4ding-Desk!"}, format="json").json()
    refreshed = api.post("/api/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")

    assert refreshed.status_code == 200 and refreshed.json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert api.get("/broker/status").status_code == 404  # signed in; no accounts yet


@pytest.mark.parametrize(
    "body,field",
    [
        ({"username": "meera", "password": "short"}, "password"),
        ({"username": "meera", "password": "password123"}, "password"),
        ({"username": "x", "password": "Tr4ding-Desk!"}, "username"),
        ({"password": "Tr4ding-Desk!"}, "username"),
        ({"username": "meera", "password": "Tr4ding-Desk!", "email": "not-an-email"}, "email"),
    ],
)
def test_register_rejects_bad_input_in_the_contract_shape(api, body, field):
    response = api.post("/api/auth/register", body, format="json")

    assert response.status_code == 400
    assert response.json()["status_code"] == 400 and field in response.json()["errors"]
    assert not get_user_model().objects.exists()


def test_register_duplicate_username_is_400(api, user):
    response = api.post("/api/auth/register", {"username": "ASHA", "password": "Tr4ding-Desk!"}, format="json")
    assert response.status_code == 400 and "username" in response.json()["errors"]


def test_registration_can_be_turned_off(api, settings):
    settings.ALLOW_REGISTRATION = False
    response = api.post("/api/auth/register", {"username": "meera", "password": "Tr4ding-Desk!"}, format="json")
    assert response.status_code == 400 and "turned off" in response.json()["detail"]
    assert not get_user_model().objects.exists()


def test_wrong_password_and_bad_jwt_are_401_in_the_contract_shape(api, user):
    wrong = api.post("/api/auth/token", {"username": "asha", "password": "nope"}, format="json")
    assert wrong.status_code == 401 and wrong.json()["status_code"] == 401

    api.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    bad = api.get("/broker/status")
    assert bad.status_code == 401 and set(bad.json()) == {"detail", "status_code"}


def test_unknown_path_is_json_404(api):
    response = api.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "status_code": 404}


def test_method_not_allowed_is_405_in_the_contract_shape(user_api):
    response = user_api.delete("/broker/status")
    assert response.status_code == 405 and response.json()["status_code"] == 405


def test_every_response_carries_rate_limit_headers(api, user_api):
    for response in (api.get("/"), user_api.get("/broker/status"), api.get("/no/such/thing")):
        assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(response.headers)
    assert user_api.get("/").headers["X-RateLimit-Limit"] == "1000"
    assert api.get("/").headers["X-RateLimit-Limit"] == "100"


def test_anonymous_rate_limit_answers_429_after_the_limit(api, settings):
    settings.RATE_LIMIT_ANON_PER_MINUTE = 3
    statuses = [api.get("/").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    limited = api.get("/")
    assert limited.json()["status_code"] == 429
    assert limited.headers["X-RateLimit-Remaining"] == "0" and int(limited.headers["Retry-After"]) >= 1


def test_user_limit_is_per_user_not_per_ip(client_for, make_user, settings):
    settings.RATE_LIMIT_USER_PER_MINUTE = 2
    first, second = client_for(make_user()), client_for(make_user())
    assert [first.get("/").status_code for _ in range(3)] == [200, 200, 429]
    assert second.get("/").status_code == 200


def test_broker_postbacks_have_their_own_budget_beside_the_anonymous_one(api, settings):
    settings.RATE_LIMIT_ANON_PER_MINUTE = 1
    settings.RATE_LIMIT_POSTBACK_PER_MINUTE = 3

    assert api.get("/").status_code == 200 and api.get("/").status_code == 429
    postbacks = [api.post("/broker/zerodha/postback", {}, format="json") for _ in range(4)]

    assert [p.status_code for p in postbacks] == [400, 400, 400, 429]  # refused as unsigned, then limited
    assert postbacks[0].headers["X-RateLimit-Limit"] == "3"


def test_rejected_registration_when_limited_creates_nothing(api, settings):
    settings.RATE_LIMIT_ANON_PER_MINUTE = 0
    response = api.post("/api/auth/register", {"username": "meera", "password": "Tr4ding-Desk!"}, format="json")
    assert response.status_code == 429
    assert not get_user_model().objects.exists()


def test_health_reports_database_and_redis(api, settings):
    body = api.get("/health").json()
    assert body["status"] == "healthy" and body["checks"]["database"] == "ok"
    if settings.REDIS_URL:
        assert body["checks"]["redis"] == "ok"


def test_health_is_503_when_redis_is_down(api, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = api.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy" and response.json()["checks"]["redis"] == "down"


def test_openapi_schema_and_docs(api):
    schema = api.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in ["/broker/connect/initiate", "/broker/connect/verify", "/broker/status", "/broker/disconnect",
                 "/broker/zerodha/callback", "/api/auth/token", "/api/auth/register", "/health",
                 "/accounts", "/accounts/{account_id}/positions", "/accounts/{account_id}/funds"]:
        assert path in paths, path
    docs = api.get("/api/docs")
    assert docs.status_code == 200 and b"swagger" in docs.content.lower()


def test_cors_allows_configured_frontend_origin(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["http://localhost:5173"]
    response = api.options("/broker/status", HTTP_ORIGIN="http://localhost:5173", HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    other = api.get("/", HTTP_ORIGIN="http://evil.example")
    assert "Access-Control-Allow-Origin" not in other.headers


def test_openapi_schema_validates_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/broker/connect/initiate" in (tmp_path / "schema.yaml").read_text()
