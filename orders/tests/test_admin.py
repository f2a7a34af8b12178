"""Staff see orders with their events and fills, read-only, filterable by account and order; never a secret."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from brokers.models import BrokerConnection
from orders.models import Order, OrderEvent, Trade

pytestmark = pytest.mark.django_db

SECRETS = ["kiteSecret99", "accessTok3n", "idem-key-secret"]
EVENTS = "/admin/orders/orderevent/"
FILLS = "/admin/orders/trade/"


@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


def make_order(connection, symbol: str, tag: str, broker_order_id: str) -> Order:
    order = Order.objects.create(
        connection=connection, broker_order_id=broker_order_id, tradingsymbol=symbol, exchange="NSE",
        transaction_type="BUY", order_type="LIMIT", product="CNC", quantity=10, price=Decimal("410"),
        broker_tag=tag, status="COMPLETE", filled_quantity=10, average_price=Decimal("409.95"),
        idempotency_key="idem-key-secret",
    )
    OrderEvent.objects.create(order=order, status="OPEN", source="user", message=f"{symbol} accepted")
    OrderEvent.objects.create(order=order, status="COMPLETE", filled_quantity=10, average_price=Decimal("409.95"),
                              source="broker", message=f"{symbol} filled")
    Trade.objects.create(order=order, trade_id=f"T-{broker_order_id}", quantity=10, price=Decimal("409.95"),
                         fill_timestamp=datetime(2026, 11, 16, 4, 0, tzinfo=timezone.utc))
    return order


@pytest.fixture
def orders(user, other_user):
    asha = BrokerConnection.objects.create(
        user=user, broker="zerodha", account_id="ZX4821", status="connected",
        credentials={"api_key": "kitekey123", "api_secret": "kiteSecret99"}, session={"access_token": "accessTok3n"})
    ravi = BrokerConnection.objects.create(user=other_user, broker="paper", account_id="PA00000002",
                                           status="connected")
    return make_order(asha, "ITC", "bt-itc", "250001"), make_order(ravi, "INFY", "bt-infy", "250002")


def page(staff_client, url: str) -> str:
    response = staff_client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    for secret in SECRETS:
        assert secret not in html, (url, secret)
    return html


def test_events_and_fills_are_listed_with_their_order_and_account(staff_client, orders):
    itc, infy = orders

    events = page(staff_client, EVENTS)
    fills = page(staff_client, FILLS)

    assert "ITC filled" in events and "INFY filled" in events
    assert "T-250001" in fills and "T-250002" in fills
    assert f"/admin/orders/order/{itc.pk}/change/" in events and f"/admin/orders/order/{infy.pk}/change/" in fills
    assert "ZX4821" in events and "PA00000002" in fills


def test_events_and_fills_filter_by_order(staff_client, orders):
    itc, infy = orders

    events = page(staff_client, f"{EVENTS}?order={itc.pk}")
    fills = page(staff_client, f"{FILLS}?order={infy.pk}")

    assert "ITC filled" in events and "INFY filled" not in events
    assert "T-250002" in fills and "T-250001" not in fills
    assert "INFY filled" not in page(staff_client, f"{EVENTS}?order=not-an-order")


def test_events_and_fills_filter_by_account_and_search_by_account_id(staff_client, orders):
    itc, _ = orders

    by_account = page(staff_client, f"{EVENTS}?order__connection__id__exact={itc.connection_id}")
    by_search = page(staff_client, f"{FILLS}?q=PA00000002")

    assert "ITC filled" in by_account and "INFY filled" not in by_account
    assert "T-250002" in by_search and "T-250001" not in by_search


def test_the_order_page_links_to_its_events_and_fills_and_shows_them_inline(staff_client, orders):
    itc, _ = orders

    html = page(staff_client, f"/admin/orders/order/{itc.pk}/change/")

    assert f"{EVENTS}?order={itc.pk}" in html and f"{FILLS}?order={itc.pk}" in html
    assert "2 event(s)" in html and "1 fill(s)" in html
    assert "T-250001" in html and "ITC accepted" in html


def test_events_and_fills_are_read_only(staff_client, orders):
    itc, _ = orders
    event = itc.events.first()
    fill = itc.trades.get()

    assert staff_client.get(f"{EVENTS}add/").status_code == 403
    assert staff_client.get(f"{FILLS}add/").status_code == 403
    staff_client.post(f"{EVENTS}{event.pk}/change/", {"status": "REJECTED", "message": "edited"})
    staff_client.post(f"{FILLS}{fill.pk}/delete/", {"post": "yes"})
    assert page(staff_client, f"{EVENTS}{event.pk}/change/")

    event.refresh_from_db()
    assert event.status == "OPEN" and event.message == "ITC accepted"
    assert Trade.objects.filter(pk=fill.pk).exists()
