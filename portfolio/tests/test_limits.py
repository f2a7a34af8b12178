"""GET /api/portfolio/limits (seed 002): filters, "the" account, and each broker through its real SDK."""

import json
from decimal import Decimal as D
from urllib.parse import parse_qs

import pytest

from brokers.adapters import registry
from brokers.domain import Broker, FundsSegment, SegmentFunds
from brokers.models import BrokerConnection
from brokers.tests.fixtures import NEO_TRADE_HOST, StubAdapter

pytestmark = pytest.mark.django_db
URL = "/api/portfolio/limits"
NEO_LIMITS = f"{NEO_TRADE_HOST}/quick/user/limits"

# user_margins.json's equity segment, as the endpoint names its amounts.
KITE_EQUITY = {
    "net": 99725.05000000002,
    "cash": 245431.6,
    "collateral": 0.0,
    "margin_used": 145706.55,
    "intraday_payin": 0.0,
    "live_balance": 99725.05000000002,
    "opening_balance": 245431.6,
    "adhoc_margin": 0.0,
    "exposure": 38981.25,
    "m2m_realised": 761.7,
    "m2m_unrealised": 0.0,
    "option_premium": 0.0,
    "span": 101989.0,
    "holding_sales": 0.0,
    "turnover": 0.0,
    "payout": 0.0,
    "liquid_collateral": 0.0,
    "stock_collateral": 0.0,
    "delivery": 0.0,
}


@pytest.fixture
def kite(user, kite_wire):
    kite_wire.reply("GET", "/user/margins", "user_margins.json")
    return BrokerConnection.objects.create(
        user=user, broker="zerodha", account_id="ZX4821", status="connected",
        credentials={"api_key": "kitekey123", "api_secret": "s"}, session={"access_token": "kAcc3ssT0kenValue9"},
    )


@pytest.fixture
def kotak(user, neo_wire, tmp_path, monkeypatch):
    monkeypatch.setenv("NEO_HOLDINGS_CACHE_DIR", str(tmp_path / "neo_holdings_cache"))
    neo_wire.reply("POST", NEO_LIMITS, "limits_success.json")
    return BrokerConnection.objects.create(
        user=user, broker="kotak_neo", account_id="AB123", status="connected", options={"environment": "prod"},
        credentials={"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"},
        session={"edit_token": "eyJ.trade", "edit_sid": "sid-2", "base_url": NEO_TRADE_HOST, "ucc": "AB123"},
    )


def jdata(request) -> dict:
    return json.loads(parse_qs(request.content.decode())["jData"][0])


# --- Filters -----------------------------------------------------------------------------


def test_no_filters_default_to_all(user_api, kite):
    body = user_api.get(URL).json()

    assert body == {"success": True, "filters": {"segment": "ALL", "exchange": "ALL", "product": "ALL"},
                    "data": KITE_EQUITY}


def test_blank_filters_default_to_all_too(user_api, kite):
    body = user_api.get(URL, {"segment": "", "exchange": " ", "product": ""}).json()

    assert body["filters"] == {"segment": "ALL", "exchange": "ALL", "product": "ALL"}
    assert body["data"] == KITE_EQUITY


@pytest.mark.parametrize("segment", ["ALL", "CASH", "FO", "CUR"])
def test_every_segment_at_zerodha_is_its_equity_funds(user_api, kite, segment):
    # Kite's equity funds pay for cash, F&O and currency alike.
    body = user_api.get(URL, {"segment": segment}).json()

    assert body["filters"]["segment"] == segment
    assert body["data"] == KITE_EQUITY


@pytest.mark.parametrize("exchange", ["ALL", "NSE", "BSE"])
def test_every_exchange_is_accepted_and_echoed(user_api, kite, exchange):
    body = user_api.get(URL, {"exchange": exchange}).json()

    assert body["filters"] == {"segment": "ALL", "exchange": exchange, "product": "ALL"}
    assert body["data"]["net"] == 99725.05000000002 and body["data"]["margin_used"] == 145706.55


@pytest.mark.parametrize("product", ["ALL", "NRML", "CNC", "MIS"])
def test_every_product_is_accepted_and_echoed(user_api, kite, product):
    body = user_api.get(URL, {"product": product}).json()

    assert body["filters"] == {"segment": "ALL", "exchange": "ALL", "product": product}
    assert body["data"]["cash"] == 245431.6 and body["data"]["span"] == 101989.0


def test_filters_are_case_insensitive(user_api, kite):
    body = user_api.get(URL, {"segment": "fo", "exchange": "nse", "product": "Mis"}).json()

    assert body["filters"] == {"segment": "FO", "exchange": "NSE", "product": "MIS"}


@pytest.mark.parametrize(
    "name,value,allowed",
    [
        ("segment", "MCX", "ALL, CASH, CUR, FO"),
        ("exchange", "NFO", "ALL, NSE, BSE"),
        ("product", "MTF", "ALL, NRML, CNC, MIS"),
    ],
)
def test_unknown_filter_value_is_400_naming_the_allowed_ones_and_asks_no_broker(
    user_api, kite, kite_wire, name, value, allowed
):
    response = user_api.get(URL, {name: value})

    body = response.json()
    assert response.status_code == 400 and body["status_code"] == 400
    assert body["detail"] == f"Unknown {name} '{value}'; use one of {allowed}."
    assert body["errors"] == {name: [body["detail"]]}
    assert kite_wire.calls("/user/margins") == []


def test_every_bad_filter_is_named_at_once(user_api, kite, kite_wire):
    body = user_api.get(URL, {"segment": "X", "exchange": "Y", "product": "ALL"}).json()

    assert body["status_code"] == 400 and set(body["errors"]) == {"segment", "exchange"}
    assert kite_wire.calls("/user/margins") == []


# --- "The" account -----------------------------------------------------------------------


def test_another_users_account_is_404_and_asks_no_broker(other_api, kite, kite_wire):
    by_header = other_api.get(URL, HTTP_X_ACCOUNT_ID="ZX4821")
    by_broker = other_api.get(URL, {"broker": "zerodha"})

    assert by_header.status_code == 404 and by_header.json()["status_code"] == 404
    assert by_broker.status_code == 404
    assert kite_wire.calls("/user/margins") == []


def test_account_is_chosen_by_header_or_broker_and_ambiguity_is_400(user_api, kite, kotak, neo_wire):
    ambiguous = user_api.get(URL)
    by_header = user_api.get(URL, HTTP_X_ACCOUNT_ID="ZX4821").json()
    by_broker = user_api.get(URL, {"broker": "kotak_neo"}).json()

    assert ambiguous.status_code == 400 and ambiguous.json()["status_code"] == 400
    assert by_header["data"]["net"] == 99725.05000000002
    assert by_broker["data"]["net"] == 19.409999999999997


def test_a_session_the_broker_finds_expired_is_409_and_marks_the_account(user_api, kite, kite_wire):
    kite_wire.mock.replace("GET", "https://api.kite.trade/user/margins",
                           json={"status": "error", "message": "Incorrect `api_key` or `access_token`.",
                                 "error_type": "TokenException"}, status=403)

    response = user_api.get(URL)

    assert response.status_code == 409 and response.json()["status_code"] == 409
    kite.refresh_from_db()
    assert kite.status == "expired" and kite.session == {}


def test_an_account_that_is_not_connected_is_409_and_asks_no_broker(user_api, kite, kite_wire):
    BrokerConnection.objects.filter(pk=kite.pk).update(status="expired")

    response = user_api.get(URL)

    assert response.status_code == 409 and "not connected" in response.json()["detail"]
    assert kite_wire.calls("/user/margins") == []


# --- Each broker through its real SDK ----------------------------------------------------


def test_zerodha_asks_kite_for_margins_with_the_accounts_token(user_api, kite, kite_wire):
    user_api.get(URL, {"segment": "CASH", "exchange": "NSE", "product": "CNC"})

    (call,) = kite_wire.calls("/user/margins")
    assert call.request.headers["Authorization"] == "token kitekey123:kAcc3ssT0kenValue9"


def test_kotak_gets_the_filters_on_the_wire_and_its_answer_back(user_api, kotak, neo_wire):
    body = user_api.get(URL, {"segment": "FO", "exchange": "NSE", "product": "NRML"}).json()

    (request,) = neo_wire.calls(NEO_LIMITS)
    assert jdata(request) == {"seg": "FO", "exch": "NSE", "prod": "NRML"}
    assert body["filters"] == {"segment": "FO", "exchange": "NSE", "product": "NRML"}
    # limits_success.json: Net, CollateralValue, Collateral, MarginUsed, then the named parts.
    assert body["data"] == {
        "net": 19.409999999999997, "cash": 38.19, "collateral": 0.0, "margin_used": 18.78,
        "intraday_payin": 0.0, "live_balance": 19.409999999999997, "adhoc_margin": 0.0, "notional_cash": 0.0,
        "exposure": 0.0, "span": 0.0, "option_premium": 0.0, "m2m_realised": 0.0, "m2m_unrealised": 0.0,
        "delivery": 0.0, "payout": 0.0,
    }


def test_kotak_defaults_send_all(user_api, kotak, neo_wire):
    user_api.get(URL)

    (request,) = neo_wire.calls(NEO_LIMITS)
    assert jdata(request) == {"seg": "ALL", "exch": "ALL", "prod": "ALL"}


def test_paper_account_answers_with_numbers(user_api):
    account = user_api.post("/broker/connect/initiate", {"broker": "paper", "opening_cash": "250000"},
                            format="json").json()

    response = user_api.get(URL, HTTP_X_ACCOUNT_ID=account["account_id"])

    body = response.json()
    assert response.status_code == 200 and body["success"] is True
    assert body["filters"] == {"segment": "ALL", "exchange": "ALL", "product": "ALL"}
    # A fresh account: all of its opening cash is free, nothing is blocked.
    assert body["data"]["net"] == 250000.0 and body["data"]["cash"] == 250000.0
    assert body["data"]["margin_used"] == 0.0
    assert {"net", "cash", "collateral", "margin_used"} <= set(body["data"])
    assert all(type(amount) is float for amount in body["data"].values())


# --- The base default: limits derived from funds() ------------------------------------------


class FundsOnlyAdapter(StubAdapter):
    """A broker with equity and commodity funds and no limits call of its own."""

    def funds(self):
        return [
            SegmentFunds(segment=FundsSegment.COMMODITY, enabled=True, net=D("900"),
                         available={"cash": D("900")}, utilised={"debits": D("0")}),
            SegmentFunds(segment=FundsSegment.EQUITY, enabled=True, net=D("70000.25"),
                         available={"cash": D("100000"), "collateral": D("5000.5"), "live_balance": D("70000.25")},
                         utilised={"debits": D("35000.25"), "span": D("20000")}),
        ]


@pytest.fixture
def funds_only(monkeypatch, user):
    monkeypatch.setitem(registry.ADAPTERS, Broker.ZERODHA, FundsOnlyAdapter)
    return BrokerConnection.objects.create(user=user, broker="zerodha", account_id="FO1", status="connected",
                                           session={"access_token": "t"})


@pytest.mark.parametrize("segment", ["ALL", "CASH", "FO"])
def test_default_gives_equity_funds_to_the_segments_they_pay_for(user_api, funds_only, segment):
    body = user_api.get(URL, {"segment": segment, "exchange": "BSE", "product": "MIS"}).json()

    assert body["data"] == {"net": 70000.25, "cash": 100000.0, "collateral": 5000.5, "margin_used": 35000.25,
                            "live_balance": 70000.25, "span": 20000.0}


def test_default_gives_currency_the_same_names_at_zero_without_a_currency_segment(user_api, funds_only):
    body = user_api.get(URL, {"segment": "CUR"}).json()

    assert body["filters"]["segment"] == "CUR"
    assert body["data"] == {"net": 0.0, "cash": 0.0, "collateral": 0.0, "margin_used": 0.0,
                            "live_balance": 0.0, "span": 0.0}


def test_endpoint_is_in_the_openapi_schema(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json",
                 "--file", str(tmp_path / "schema.json"))
    schema = json.loads((tmp_path / "schema.json").read_text())

    operation = schema["paths"]["/api/portfolio/limits"]["get"]
    enums = {p["name"]: set(p["schema"].get("enum", ())) for p in operation["parameters"] if p["in"] == "query"}
    assert enums["segment"] == {"ALL", "CASH", "CUR", "FO"}
    assert enums["exchange"] == {"ALL", "NSE", "BSE"}
    assert enums["product"] == {"ALL", "NRML", "CNC", "MIS"}
    assert set(operation["responses"]) >= {"200", "400", "404"}
