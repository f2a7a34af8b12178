"""Requests while Redis or the database cannot be reached: a prompt 503 in the contract's shape, never a 500."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis.exceptions
from django.db import OperationalError
from django.test import RequestFactory

from budhitrade.embedded_redis import free_port
from budhitrade.exceptions import handler500

REPO = Path(__file__).resolve().parent.parent.parent


def closed_port() -> int:
    """A loopback port nothing listens on (taken from the OS, then released)."""
    return free_port()


@pytest.mark.django_db
def test_a_request_while_redis_is_unreachable_answers_503_in_the_contract_shape(settings, user_api, paper_market):
    account_id = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]
    unreachable = f"redis://127.0.0.1:{closed_port()}/0"
    settings.REDIS_URL = unreachable
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": unreachable}}

    started = time.monotonic()
    response = user_api.post(f"/accounts/{account_id}/sync", {"force": True}, format="json")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json() == {"detail": "Redis is unavailable; try again shortly.", "status_code": 503}
    assert response["Retry-After"] == "5"
    assert elapsed < 10


@pytest.mark.django_db
def test_health_says_unhealthy_while_redis_is_unreachable(settings, api):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"

    response = api.get("/health")

    assert response.status_code == 503
    assert response.json() == {"status": "unhealthy", "checks": {"database": "ok", "redis": "down"}}


DATABASE_DOWN_SCRIPT = """
import json, time
import django
django.setup()
from django.test import Client
from rest_framework_simplejwt.tokens import AccessToken

token = AccessToken()
token["user_id"] = 1
client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
answers = []
for method, path in (("get", "/accounts"), ("post", "/accounts/PA1/orders"), ("get", "/health")):
    started = time.monotonic()
    response = getattr(client, method)(path, **({"data": {"tradingsymbol": "ITC"}, "content_type": "application/json"}
                                               if method == "post" else {}))
    answers.append({"path": path, "status": response.status_code, "body": response.json(),
                    "retry_after": response.get("Retry-After"), "seconds": time.monotonic() - started})
print(json.dumps(answers))
"""


def test_requests_while_the_database_is_unreachable_answer_503_promptly(tmp_path):
    """The product's own settings, pool and backend, pointed at a PostgreSQL port nothing listens on."""
    env = {key: value for key, value in os.environ.items() if key not in ("REDIS_URL", "CI")}
    env.update(DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/budhitrade",
               BUDHITRADE_STATE_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="budhitrade.settings.base",
               LOG_LEVEL="CRITICAL")

    finished = subprocess.run([sys.executable, "-c", DATABASE_DOWN_SCRIPT], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=60)

    assert finished.returncode == 0, finished.stderr[-3000:]
    accounts, order, health = json.loads(finished.stdout.strip().splitlines()[-1])
    for answer in (accounts, order):
        assert answer["status"] == 503, answer
        assert answer["body"] == {"detail": "The database is unavailable; try again shortly.", "status_code": 503}
        assert answer["retry_after"] == "5"
    assert health["status"] == 503
    assert health["body"] == {"status": "unhealthy", "checks": {"database": "down"}}
    # Each waits at most the pool's timeout (DB_POOL_TIMEOUT_SECONDS, 3 s), never a hang.
    assert all(answer["seconds"] < 6 for answer in (accounts, order, health))


@pytest.mark.parametrize("error, detail", [
    (redis.exceptions.ConnectionError("Error 111 connecting"), "Redis is unavailable; try again shortly."),
    (OperationalError("server closed the connection"), "The database is unavailable; try again shortly."),
])
def test_an_outage_outside_the_api_views_is_a_503_too(error, detail):
    request = RequestFactory().get("/admin/")
    try:
        raise error
    except type(error):
        response = handler500(request)

    assert response.status_code == 503
    assert json.loads(response.content) == {"detail": detail, "status_code": 503}


def test_any_other_error_outside_the_api_views_stays_a_500():
    request = RequestFactory().get("/admin/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = handler500(request)

    assert response.status_code == 500
    assert json.loads(response.content) == {"detail": "Internal server error.", "status_code": 500}
