"""Staff manage connections in admin without ever seeing a secret."""

import pytest
from django.contrib.auth import get_user_model

from brokers.models import BrokerConnection

pytestmark = pytest.mark.django_db

SECRETS = ["neoConsumerKey1", "neoSecret", "9876543210", "tradeTok3n", "sid-abc"]


@pytest.fixture
def staff_client(client):
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True, is_superuser=True)
    client.force_login(staff)
    return client


@pytest.fixture
def kotak_connection(user):
    return BrokerConnection.objects.create(
        user=user, broker="kotak_neo", account_id="AB123", status="connected",
        credentials={"consumer_key": "neoConsumerKey1", "consumer_secret": "neoSecret", "mobile_number": "+919876543210", "ucc": "AB123"},
        session={"edit_token": "tradeTok3n", "edit_sid": "sid-abc"},
    )


def test_list_and_change_pages_render_without_secrets(staff_client, kotak_connection):
    pages = [
        staff_client.get("/admin/brokers/brokerconnection/"),
        staff_client.get("/admin/brokers/brokerconnection/?q=AB123&status__exact=connected"),
        staff_client.get(f"/admin/brokers/brokerconnection/{kotak_connection.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert "AB123" in html
        for secret in SECRETS:
            assert secret not in html, secret


def test_change_post_cannot_write_secrets(staff_client, kotak_connection):
    staff_client.post(
        f"/admin/brokers/brokerconnection/{kotak_connection.pk}/change/",
        {"credentials": '{"consumer_key": "evil"}', "status": "error"},
    )
    kotak_connection.refresh_from_db()
    assert kotak_connection.credentials["consumer_key"] == "neoConsumerKey1"
    assert kotak_connection.status == "connected"


def test_expire_and_disconnect_actions(staff_client, kotak_connection, user):
    paper = BrokerConnection.objects.create(user=user, broker="paper", account_id="PA00000001", status="connected")
    url = "/admin/brokers/brokerconnection/"

    staff_client.post(url, {"action": "expire_selected", "_selected_action": [kotak_connection.pk]})
    staff_client.post(url, {"action": "disconnect_selected", "_selected_action": [paper.pk]})

    kotak_connection.refresh_from_db()
    paper.refresh_from_db()
    assert kotak_connection.status == "expired" and kotak_connection.session == {}
    assert "staff" in kotak_connection.last_error
    assert paper.status == "disconnected"


def test_admin_add_is_not_offered(staff_client):
    assert staff_client.get("/admin/brokers/brokerconnection/add/").status_code == 403


def test_sync_now_action_fills_read_only_portfolio_pages(staff_client, user):
    from brokers import services

    connection, _ = services.connection_initiate(user=user, broker="paper", credentials={}, options={"opening_cash": "750000"})

    staff_client.post("/admin/brokers/brokerconnection/", {"action": "sync_selected", "_selected_action": [connection.pk]})

    funds_page = staff_client.get("/admin/portfolio/funds/")
    assert funds_page.status_code == 200 and "750000" in funds_page.content.decode()
    assert staff_client.get("/admin/portfolio/accountsync/").status_code == 200
    assert staff_client.get("/admin/portfolio/holding/add/").status_code == 403


def test_paper_market_and_snapshots_are_listed_read_only(staff_client, paper_market):
    from django.urls import reverse

    from brokers.paper.models import PaperInstrument

    listing = reverse(f"admin:{PaperInstrument._meta.app_label}_paperinstrument_changelist")
    instruments = staff_client.get(f"{listing}?instrument_type__exact=FUT")
    snapshots = staff_client.get("/admin/portfolio/dailysnapshot/")

    assert instruments.status_code == 200 and "NIFTY26NOVFUT" in instruments.content.decode()
    assert snapshots.status_code == 200
    assert staff_client.get(f"{listing}add/").status_code == 403


def test_instrument_masters_are_listed_read_only(staff_client):
    from datetime import date, datetime, timezone
    from decimal import Decimal

    from brokers.models import BrokerInstrument, InstrumentMaster

    InstrumentMaster.objects.create(broker="zerodha", listed_on=date(2026, 12, 1), count=1,
                                    loaded_at=datetime(2026, 12, 1, 3, 15, tzinfo=timezone.utc))
    BrokerInstrument.objects.create(broker="zerodha", exchange="NFO", tradingsymbol="NIFTY26DECFUT", token="12345602",
                                    instrument_type="FUT", lot_size=65, tick_size=Decimal("0.1"),
                                    listed_on=date(2026, 12, 1))

    listed = staff_client.get("/admin/brokers/brokerinstrument/?q=NIFTY26DEC&broker__exact=zerodha")

    assert listed.status_code == 200 and "NIFTY26DECFUT" in listed.content.decode()
    assert staff_client.get("/admin/brokers/instrumentmaster/").status_code == 200
    assert staff_client.get("/admin/brokers/brokerinstrument/add/").status_code == 403


def test_admin_is_titled_budhitrade(staff_client, client):
    index = staff_client.get("/admin/").content.decode()
    client.logout()
    login = client.get("/admin/login/").content.decode()

    for html in (index, login):
        assert "BudhiTrade administration" in html
        assert "Django administration" not in html and "Django site admin" not in html


def test_admin_index_lists_funds_order_events_and_fills(staff_client):
    html = staff_client.get("/admin/").content.decode()

    assert ">Funds<" in html and "Fundss" not in html
    assert "/admin/orders/orderevent/" in html and "/admin/orders/trade/" in html
