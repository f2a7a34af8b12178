"""Every operation, driven through the real stack into each failure it can meet, answers a documented status
with a body its schema accepts: a broker that fails every call (502, 503, 504, session expired), no JWT, a
body over the size limit, a body that is not JSON, an Accept header that allows no JSON."""

from __future__ import annotations

import inspect
import json
from datetime import date
from decimal import Decimal

import pytest
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft7Validator
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from brokers.adapters import registry
from brokers.adapters.base import (
    BrokerAdapter,
    BrokerError,
    BrokerSessionExpired,
    BrokerTimeout,
    BrokerUnavailable,
)
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.domain import Broker, ConnectionStatus
from brokers.models import BrokerConnection, BrokerInstrument
from brokers.services import login_state_sign
from brokers.tests.fixtures import bearer
from orders.models import Order

METHODS = ("get", "post", "put", "patch", "delete")
ACCOUNT = "ZQ1234"
ORDER = {"tradingsymbol": "ITC", "exchange": "NSE", "transaction_type": "BUY", "quantity": 1,
         "order_type": "LIMIT", "product": "CNC", "price": "410"}
# Adapter methods that read what a broker pushed, rather than call it.
NOT_CALLS = ("push", "updates", "call_wait")


def _fails(name):
    def call(self, *args, **kwargs):
        raise type(FailingBroker.error)(FailingBroker.error.detail)

    call.__name__ = name
    return call


# Zerodha's adapter, reading pushes as it does, with every call to the broker failing with `error`.
FailingBroker = type("FailingBroker", (ZerodhaAdapter,), {
    "error": BrokerError(),
    **{name: _fails(name) for name, _member in inspect.getmembers(BrokerAdapter, inspect.isfunction)
       if not name.startswith("_") and not any(part in name for part in NOT_CALLS)},
})


@pytest.fixture(scope="module")
def document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def world(db, make_user, monkeypatch):
    """A user with a connected broker account, a pending login, an open order; the broker fails every call."""
    monkeypatch.setitem(registry.ADAPTERS, Broker.ZERODHA, FailingBroker)
    user = make_user("asha")
    connection = BrokerConnection.objects.create(
        user=user, broker=Broker.ZERODHA, account_id=ACCOUNT, status=ConnectionStatus.CONNECTED,
        credentials={"api_key": "kitekey", "api_secret": "kitesecret"}, session={"access_token": "token"})
    pending = BrokerConnection.objects.create(
        user=user, broker=Broker.ZERODHA, account_id="", status=ConnectionStatus.PENDING_LOGIN,
        credentials={"api_key": "kitekey", "api_secret": "kitesecret"})
    order = Order.objects.create(
        connection=connection, broker_order_id="260101000001", tradingsymbol="ITC", exchange="NSE",
        transaction_type="BUY", order_type="LIMIT", product="CNC", quantity=1, price=Decimal("410"),
        broker_tag="BTSCHEMA1", status="OPEN", pending_quantity=1)
    # An instrument of the account's stored master, so a quote reaches the (failing) broker.
    BrokerInstrument.objects.create(broker=Broker.ZERODHA, exchange="NSE", tradingsymbol="ITC", token="424961",
                                    instrument_type="EQ", lot_size=1, tick_size=Decimal("0.05"),
                                    listed_on=date(2026, 1, 1))
    return {"user": user, "connection": connection, "pending": pending, "order": order}


def _samples(world) -> dict[str, dict]:
    """A request each operation can act on: its query, headers and body."""
    account = {"HTTP_X_ACCOUNT_ID": ACCOUNT}
    pending = str(world["pending"].pk)
    return {
        "root_retrieve": {},
        "health_retrieve": {},
        "api_auth_register_create": {"body": {"username": "newtrader", "password": "s3cure-Passw0rd-x"}},
        "api_auth_token_create": {"body": {"username": "asha", "password": "s3cure-Passw0rd"}},
        "api_auth_token_refresh_create": {"body": {"refresh": str(RefreshToken.for_user(world["user"]))}},
        "api_auth_qr_link_create": {},
        "api_auth_qr_session_create": {},
        "broker_connect_initiate_create": {"body": {"broker": "zerodha", "api_key": "k2", "api_secret": "s2"}},
        "broker_connect_verify_create": {"body": {"connection_id": pending, "request_token": "requesttoken"}},
        "broker_zerodha_callback_retrieve": {"query": {"state": login_state_sign(world["pending"].pk),
                                                       "request_token": "requesttoken", "status": "success"}},
        "broker_status_retrieve": {"headers": account},
        "broker_disconnect_create": {"headers": account},
        "zerodha_postback": {"body": {"user_id": ACCOUNT, "order_id": "260101000001", "status": "COMPLETE",
                                      "order_timestamp": "2026-01-01 10:00:00", "checksum": "0" * 64}},
        "accounts_list": {},
        "accounts_detail": {},
        "accounts_sync_create": {"body": {"force": True}},
        "accounts_positions_retrieve": {"query": {"fresh": "true"}},
        "accounts_holdings_retrieve": {},
        "accounts_funds_retrieve": {"query": {"segment": "equity"}},
        "dashboard_retrieve": {"headers": account},
        "broker_portfolio_retrieve": {"headers": account},
        "broker_portfolio_holdings_retrieve": {"headers": account},
        "broker_portfolio_positions_retrieve": {"headers": account},
        "broker_limits_retrieve": {"headers": account},
        "portfolio_limits": {"headers": account, "query": {"segment": "ALL"}},
        "orders_list": {"query": {"limit": "10"}},
        "orders_place": {"body": ORDER},
        "orders_detail": {},
        "orders_modify": {"body": {"price": "411"}},
        "orders_cancel": {},
        "accounts_orders_history_retrieve": {},
        "accounts_trades_retrieve": {"query": {"limit": "10"}},
        "websocket_status": {},
        "websocket_subscriptions": {},
        "websocket_unsubscribe": {"body": {"client_id": "tab-1", "instrument_tokens": [
            {"instrument_token": "11536", "exchange_segment": "nse_cm"}]}},
        "websocket_disconnect": {},
        "accounts_batch_orders_create": {"body": {"orders": [ORDER], "rollback_on_failure": True}},
        "market_quotes": {"headers": account, "body": {
            "instrument_tokens": [{"instrument_token": "424961", "exchange_segment": "nse_cm"}], "quote_type": "all"}},
        "market_scrip_master": {"headers": account, "query": {"exchange_segment": "nse_cm", "limit": "10"}},
        "market_instruments": {"headers": account, "query": {"q": "itc", "limit": "5"}},
        "fo_strike_distribution": {"query": {"symbol": "NIFTY", "timeframe": "5min", "indicator": "iv"}},
        "fo_moneyness_series": {"query": {"symbol": "NIFTY50", "timeframe": "5min", "indicator": "iv", "hours": "6"}},
        "fo_chain_summary": {"query": {"symbol": "NIFTY"}},
        "fo_straddle_series": {"query": {"symbol": "NIFTY", "hours": "6"}},
        "futures_position_signals": {"query": {"symbol": "NIFTY", "timeframe": "5min", "hours": "6"}},
        "futures_rollover_metrics": {"query": {"symbol": "NIFTY"}},
        # The TOTP has 5 digits on purpose: only Zerodha is faked here, so a valid body would reach Kotak.
        "kotak_service_totp_login": {"body": {"mobile_number": "+919876543210", "ucc": "AB123", "totp": "12345",
                                              "consumer_key": "k"}},
        "kotak_service_totp_validate": {"body": {"mpin": "1234"}},
        "kotak_service_logout": {"headers": account},
        "kotak_service_order_place": {"body": {"exchange_segment": "nse_cm", "product": "CNC", "price": "410",
                                               "order_type": "L", "quantity": "1", "validity": "DAY",
                                               "trading_symbol": "ITC", "transaction_type": "B"}},
        "kotak_service_order_modify": {"body": {"order_id": "260101000001", "price": "411"}},
        "kotak_service_order_cancel": {},
        "kotak_service_orders": {"query": {"limit": "10"}},
        "kotak_service_order_history": {},
        "kotak_service_trades": {"query": {"order_id": "260101000001"}},
        "kotak_service_positions": {},
        "kotak_service_holdings": {},
        # The TOTP has 5 digits on purpose: only Zerodha is faked here, so a valid body would reach Kotak.
        "kotak_integration_login_totp": {"body": {"user_id": "asha", "access_token": "k",
                                                  "mobile_number": "+919876543210", "client_code": "AB123",
                                                  "totp": "12345"}},
        "kotak_integration_login_mpin": {"body": {"user_id": "asha", "mpin": "1234"}},
        "kotak_integration_order_place": {"headers": account, "body": {
            "user_id": "asha", "symbol": "ITC", "exchange": "nse_cm", "quantity": 1, "order_type": "LMT",
            "price": 410, "transaction_type": "B", "product_type": "CNC", "validity": "DAY"}},
        "kotak_integration_order_modify": {"headers": account, "body": {"order_no": "260101000001", "price": 411}},
        "kotak_integration_order_cancel": {"headers": account, "body": {"order_no": "260101000001"}},
        "kotak_integration_orders": {"headers": account, "query": {"user_id": "asha", "limit": "10"}},
        "kotak_integration_trades": {"headers": account, "query": {"limit": "10"}},
        "kotak_integration_positions": {"headers": account},
        "kotak_integration_holdings": {"headers": account},
        "kotak_integration_quotes": {"headers": account, "query": {"exchange": "nse_cm", "symbol_code": "424961"}},
        "kotak_integration_status": {"headers": account, "query": {"user_id": "asha"}},
        "zerodha_dashboard_api_setup": {"body": {"api_key": "kitekey", "api_secret": "kitesecret", "broker": "zerodha"}},
        "zerodha_dashboard_login_url": {},
        "zerodha_dashboard_activate": {"body": {"brokerage": "zerodha", "api_url": "https://api.kite.trade",
                                                "request_token": "requesttoken"}},
        "zerodha_dashboard_dashboard": {"headers": account},
    }


def _operations(document):
    for route, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield route, method, item[method]


def _url(route: str, query: dict | None) -> str:
    url = route.replace("{account_id}", ACCOUNT).replace("{order_id}", "260101000001")
    if query:
        url += "?" + "&".join(f"{name}={value}" for name, value in query.items())
    return url


def _send(client: APIClient, method: str, url: str, sample: dict, **overrides):
    headers = {**sample.get("headers", {}), **overrides.pop("headers", {})}
    if "raw" in overrides:
        raw, content_type = overrides.pop("raw")
        return client.generic(method.upper(), url, raw, content_type=content_type, **headers)
    body = sample.get("body")
    if body is None:
        return client.generic(method.upper(), url, **headers)
    return client.generic(method.upper(), url, json.dumps(body), content_type="application/json", **headers)


def _check(document, route, method, operation, response, case: str) -> str | None:
    """What is wrong with the answer against the schema (its status; an error's body), or None."""
    status = str(response.status_code)
    documented = operation["responses"].get(status)
    if documented is None:
        return f"{method.upper()} {route} [{case}]: {status} is not documented ({response.content[:200]!r})"
    media = documented.get("content", {}).get("application/json")
    if media is None or response.status_code < 400:  # success bodies are each view's own (and Schemathesis's)
        return None
    validator = Draft7Validator({**media["schema"], "components": document["components"]})
    errors = [error.message for error in validator.iter_errors(response.json())]
    return f"{method.upper()} {route} [{case}] {status}: {errors}" if errors else None


def test_every_operation_has_a_sample_request(document, world):
    samples = _samples(world)
    operation_ids = {operation["operationId"] for _route, _method, operation in _operations(document)}
    assert operation_ids - samples.keys() == set(), "add a sample request for each new operation"
    assert samples.keys() - operation_ids == set()


@pytest.mark.parametrize("error", [BrokerError("The broker failed."), BrokerUnavailable("Unreachable."),
                                   BrokerTimeout("Too slow."), BrokerSessionExpired("Session expired.")],
                         ids=["502", "503", "504", "session-expired"])
def test_a_failing_broker_gets_documented_answers_everywhere(document, world, monkeypatch, error):
    monkeypatch.setattr(FailingBroker, "error", error)
    samples, problems, seen = _samples(world), [], set()
    for route, method, operation in _operations(document):
        # Each request gets the world as it was: a session expiry marks the account expired, a cancel ends the order.
        BrokerConnection.objects.filter(pk=world["connection"].pk).update(status=ConnectionStatus.CONNECTED)
        Order.objects.filter(pk=world["order"].pk).update(status="OPEN")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=bearer(world["user"]))
        sample = samples[operation["operationId"]]
        response = _send(client, method, _url(route, sample.get("query")), sample)
        seen.add(response.status_code)
        problems.append(_check(document, route, method, operation, response, f"broker {error.status_code}"))
    assert [problem for problem in problems if problem] == []
    assert error.status_code in seen  # the broker really was reached


@pytest.mark.parametrize("case", ["no JWT", "too large", "not JSON", "no JSON accepted"])
def test_edge_failures_get_documented_answers_everywhere(document, world, settings, case):
    samples, problems, seen = _samples(world), [], set()
    too_large = b"{" + b" " * settings.MAX_REQUEST_BODY_BYTES + b"}"
    for route, method, operation in _operations(document):
        client = APIClient()
        if case != "no JWT":
            client.credentials(HTTP_AUTHORIZATION=bearer(world["user"]))
        sample = samples[operation["operationId"]]
        url = _url(route, sample.get("query"))
        if case == "too large":
            response = _send(client, method, url, sample, raw=(too_large, "application/json"))
        elif case == "not JSON":
            if "requestBody" not in operation:
                continue
            response = _send(client, method, url, sample, raw=(b"ticker=ITC", "text/plain"))
        elif case == "no JSON accepted":
            response = _send(client, method, url, sample, headers={"HTTP_ACCEPT": "text/html"})
        else:
            response = _send(client, method, url, sample)
        seen.add(response.status_code)
        problems.append(_check(document, route, method, operation, response, case))
    assert [problem for problem in problems if problem] == []
    assert {"no JWT": 401, "too large": 413, "not JSON": 415, "no JSON accepted": 406}[case] in seen
