"""The HTTP and WebSocket edges as a client meets them on a running daphne, under the shipped settings."""

import pytest
import requests
import websockets.sync.client
from django.conf import settings
from websockets.exceptions import InvalidStatus

from brokers import services
from brokers.tests.fixtures import bearer
from budhitrade.tests.test_body_limits import ORDER, SHIPPED_LIMIT, SIZES, padded_form, padded_json
from orders.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


def assert_413(response):
    assert response.status_code == 413, response.text[:300]
    assert response.json() == {"detail": f"Request body is larger than {SHIPPED_LIMIT} bytes.", "status_code": 413}
    assert response.headers["X-RateLimit-Limit"]


def test_oversized_bodies_are_413_on_daphne(live_daphne, user):
    assert settings.MAX_REQUEST_BODY_BYTES == SHIPPED_LIMIT
    base = f"http://127.0.0.1:{live_daphne}"
    connection, _ = services.connection_initiate(user=user, broker="paper", credentials={}, options={})
    json_headers = {"Content-Type": "application/json"}

    for size in SIZES.values():
        assert_413(requests.post(f"{base}/accounts/{connection.account_id}/orders", data=padded_json(ORDER, size),
                                 headers={**json_headers, "Authorization": bearer(user)}, timeout=30))
        assert_413(requests.post(f"{base}/api/auth/token", data=padded_json({"username": "x"}, size),
                                 headers=json_headers, timeout=30))
        assert_413(requests.post(f"{base}/api/auth/token", data=padded_form({"username": "x"}, size),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30))
        assert_413(requests.post(f"{base}/api/auth/token", files={"file": ("big.bin", b"x" * size)}, timeout=30))
    assert not Order.objects.exists()


def test_oversized_chunked_form_is_413_on_daphne(live_daphne):
    body = padded_form({"username": "ops", "password": "x"}, SHIPPED_LIMIT + 1)

    def chunks():
        for start in range(0, len(body), 65536):
            yield body[start:start + 65536]

    response = requests.post(f"http://127.0.0.1:{live_daphne}/admin/login/", data=chunks(), timeout=30,
                             headers={"Content-Type": "application/x-www-form-urlencoded",
                                      "Cookie": "csrftoken=" + "a" * 32})

    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 413, response.text[:300]
    assert response.json()["status_code"] == 413


def _chunked(body: bytes):
    for start in range(0, len(body), 65536):
        yield body[start:start + 65536]


def test_chunked_json_over_the_limit_is_413_and_under_it_is_read_on_daphne(live_daphne, user):
    base = f"http://127.0.0.1:{live_daphne}"
    headers = {"Content-Type": "application/json"}

    over = requests.post(f"{base}/api/auth/token", data=_chunked(padded_json({"username": "x"}, SHIPPED_LIMIT + 1)),
                         headers=headers, timeout=30)
    under = requests.post(f"{base}/api/auth/token", headers=headers, timeout=30,
                          data=_chunked(padded_json({"username": user.username, "password": "wrong"}, 100_000)))

    assert over.request.headers.get("Transfer-Encoding") == "chunked"
    assert over.status_code == 413 and over.json() == {
        "detail": f"Request body is larger than {SHIPPED_LIMIT} bytes.", "status_code": 413}
    assert under.status_code == 401, under.text[:300]  # the body was read: a wrong password, not a missing field


@pytest.mark.parametrize("path", ["/ws/nowhere", "/ws/orders", "/ws/connections/extra", "/"])
def test_websocket_to_a_path_no_app_serves_is_refused_at_the_handshake_on_daphne(live_daphne, user, path):
    token = bearer(user).split(" ", 1)[1]

    with pytest.raises(InvalidStatus) as refused:
        websockets.sync.client.connect(f"ws://127.0.0.1:{live_daphne}{path}?token={token}", open_timeout=10)

    assert refused.value.response.status_code == 403
    # The server is fine afterwards: a socket to a served path opens.
    with websockets.sync.client.connect(f"ws://127.0.0.1:{live_daphne}/ws/connections?token={token}",
                                        open_timeout=10) as socket_:
        assert socket_.recv(timeout=10)
