"""Oversized request bodies are a 413 in the contract's shape, under the shipped limits, whatever reads them."""

import json
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test.client import MULTIPART_CONTENT, encode_multipart

from brokers import services
from brokers.models import BrokerConnection
from orders.models import Order

pytestmark = pytest.mark.django_db

SHIPPED_LIMIT = 256 * 1024  # MAX_REQUEST_BODY_BYTES as shipped (README, .env.example)
DJANGO_DEFAULT_LIMIT = int(2.5 * 1024 * 1024)  # Django's own DATA_UPLOAD_MAX_MEMORY_SIZE default
SIZES = {"just_over_the_limit": SHIPPED_LIMIT + 1, "over_djangos_default": DJANGO_DEFAULT_LIMIT + 1024}
ORDER = {"tradingsymbol": "ITC", "exchange": "NSE", "transaction_type": "BUY", "quantity": 1,
         "order_type": "LIMIT", "product": "CNC", "price": "410"}


def padded_json(fields: dict, size: int) -> bytes:
    """A valid JSON object of exactly `size` bytes: the fields plus a padding string."""
    bare = json.dumps({**fields, "pad": ""}).encode()
    return json.dumps({**fields, "pad": "x" * (size - len(bare))}).encode()


def padded_form(fields: dict, size: int) -> bytes:
    bare = urlencode({**fields, "pad": ""}).encode()
    return urlencode({**fields, "pad": "x" * (size - len(bare))}).encode()


def assert_413(response):
    assert response.status_code == 413, response.content[:300]
    body = response.json()
    assert body["status_code"] == 413
    assert str(SHIPPED_LIMIT) in body["detail"]
    assert response["X-RateLimit-Limit"]
    return body


@pytest.fixture(autouse=True)
def _shipped_limits():
    """These tests mean the limits as shipped: the product's, and Django's own never above it."""
    assert settings.MAX_REQUEST_BODY_BYTES == SHIPPED_LIMIT
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE is not None
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE <= settings.MAX_REQUEST_BODY_BYTES


@pytest.fixture
def paper_account_id(user):
    connection, _ = services.connection_initiate(user=user, broker="paper", credentials={}, options={})
    return connection.account_id


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_place_order_with_an_oversized_json_body_is_413_and_places_nothing(user_api, paper_account_id, size):
    body = padded_json(ORDER, size)
    assert len(body) == size

    response = user_api.post(f"/accounts/{paper_account_id}/orders", body, content_type="application/json")

    assert_413(response)
    assert not Order.objects.exists()


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_connect_with_an_oversized_json_body_is_413_and_connects_nothing(user_api, size):
    response = user_api.post("/broker/connect/initiate", padded_json({"broker": "paper"}, size),
                             content_type="application/json")

    assert_413(response)
    assert not BrokerConnection.objects.exists()


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
@pytest.mark.parametrize("path", ["/api/auth/token", "/api/auth/register", "/broker/zerodha/postback"])
def test_anonymous_oversized_json_body_is_413(api, path, size):
    response = api.post(path, padded_json({"username": "big", "password": "s3cure-Passw0rd"}, size),
                        content_type="application/json")

    assert_413(response)
    assert not get_user_model().objects.filter(username="big").exists()


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_oversized_form_and_multipart_bodies_are_413_not_415(api, user_api, paper_account_id, size):
    form = padded_form({"username": "big"}, size)
    multipart = encode_multipart("BoUnDaRy", {"username": "big", "file": "x" * size})

    assert_413(api.post("/api/auth/token", form, content_type="application/x-www-form-urlencoded"))
    assert_413(user_api.post(f"/accounts/{paper_account_id}/orders", multipart,
                             content_type="multipart/form-data; boundary=BoUnDaRy"))
    assert not Order.objects.exists()


def test_oversized_admin_login_form_is_413(client):
    response = client.post("/admin/login/", {"username": "ops", "password": "x" * (SHIPPED_LIMIT + 1)},
                           content_type=MULTIPART_CONTENT)

    assert_413(response)


@pytest.mark.django_db(transaction=True)
async def test_oversized_body_that_declares_no_length_is_413_on_the_asgi_application():
    """A chunked body carries no Content-Length: it is read and bounded before Django (budhitrade.asgi_body)."""
    from channels.testing import HttpCommunicator

    from budhitrade.asgi import application

    body = padded_form({"username": "ops", "password": "x"}, SHIPPED_LIMIT + 1)
    communicator = HttpCommunicator(application, "POST", "/admin/login/", body=body, headers=[
        (b"host", b"127.0.0.1"), (b"content-type", b"application/x-www-form-urlencoded"),
        (b"transfer-encoding", b"chunked"), (b"cookie", b"csrftoken=" + b"a" * 32)])

    response = await communicator.get_response(timeout=10)

    assert response["status"] == 413, response["body"][:300]
    assert json.loads(response["body"])["status_code"] == 413


def test_a_body_at_the_limit_is_read(api, user):
    body = padded_json({"username": user.username, "password": "wrong"}, SHIPPED_LIMIT)

    response = api.post("/api/auth/token", body, content_type="application/json")

    assert response.status_code == 401, response.content[:300]


def test_a_content_length_that_is_not_a_number_is_400(api):
    response = api.generic("POST", "/api/auth/token", b"{}", content_type="application/json",
                           CONTENT_LENGTH="lots")

    assert response.status_code == 400
    assert response.json()["status_code"] == 400
