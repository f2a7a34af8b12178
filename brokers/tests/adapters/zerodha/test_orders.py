"""ZerodhaAdapter orders and trades through the real kiteconnect SDK against recorded Kite responses."""

from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from brokers.adapters.base import (
    BrokerError,
    BrokerOrderRejected,
    BrokerSessionExpired,
    BrokerTimeout,
    BrokerUnavailable,
)
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.adapters.zerodha.mapping import IST
from brokers.domain import BrokerOrder, Fill, OrderChange, OrderRequest, OrderStatus
from brokers.tests.fixtures import wire_body

CREDENTIALS = {"api_key": "kitekey123", "api_secret": "kitesecret456"}
SESSION = {"access_token": "kAcc3ssT0kenValue9"}
ORDER_ID = "151220000000000"


def adapter():
    return ZerodhaAdapter(credentials=CREDENTIALS, session=SESSION)


def form(call) -> dict[str, str]:
    """The form body kiteconnect sent, one value per field."""
    return {key: values[0] for key, values in parse_qs(call.request.body, strict_parsing=True).items()}


def ist(*parts) -> datetime:
    return datetime(*parts, tzinfo=IST)


LIMIT_BUY = OrderRequest(
    tradingsymbol="INFY",
    exchange="NSE",
    transaction_type="BUY",
    order_type="LIMIT",
    product="CNC",
    quantity=10,
    price=Decimal("1420.50"),
    tag="bt9f2c41d07a",
)


# --- place ---------------------------------------------------------------------------------------

def test_place_posts_the_order_form_to_the_regular_variety_and_returns_kites_order_id(kite_wire):
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")

    order_id = adapter().order_place(LIMIT_BUY)

    assert order_id == ORDER_ID
    [call] = kite_wire.calls("/orders/regular")
    assert call.request.method == "POST"
    assert call.request.headers["Authorization"] == "token kitekey123:kAcc3ssT0kenValue9"
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(call) == {
        "variety": "regular",
        "tradingsymbol": "INFY",
        "exchange": "NSE",
        "transaction_type": "BUY",
        "quantity": "10",
        "product": "CNC",
        "order_type": "LIMIT",
        "price": "1420.50",
        "validity": "DAY",
        "tag": "bt9f2c41d07a",
    }


def test_place_stop_loss_sends_trigger_price_and_disclosed_quantity(kite_wire):
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")
    stop_loss = OrderRequest(
        tradingsymbol="NIFTY21JUNFUT", exchange="NFO", transaction_type="SELL", order_type="SL",
        product="NRML", quantity=75, price=Decimal("15480"), trigger_price=Decimal("15500.05"),
        disclosed_quantity=25, validity="DAY",
    )

    adapter().order_place(stop_loss)

    body = form(kite_wire.calls("/orders/regular")[0])
    assert (body["order_type"], body["price"], body["trigger_price"], body["disclosed_quantity"]) == (
        "SL", "15480", "15500.05", "25"
    )
    assert "tag" not in body


def test_place_market_order_sends_no_price_and_ioc_validity(kite_wire):
    kite_wire.reply("POST", "/orders/regular", "orders_place_success.json")
    market = OrderRequest(tradingsymbol="SBIN", exchange="NSE", transaction_type="SELL", order_type="MARKET",
                          product="MIS", quantity=1, validity="IOC")

    adapter().order_place(market)

    assert form(kite_wire.calls("/orders/regular")[0]) == {
        "variety": "regular", "tradingsymbol": "SBIN", "exchange": "NSE", "transaction_type": "SELL",
        "quantity": "1", "product": "MIS", "order_type": "MARKET", "validity": "IOC",
    }


def test_after_market_order_goes_to_the_amo_route(kite_wire):
    kite_wire.reply("POST", "/orders/amo", "orders_place_amo_success.json")

    order_id = adapter().order_place(
        OrderRequest(tradingsymbol="RELIANCE", exchange="NSE", transaction_type="BUY", order_type="LIMIT",
                     product="CNC", quantity=5, price=Decimal("2150"), variety="amo")
    )

    assert order_id == "250317000000012"
    [call] = kite_wire.calls("/orders/amo")
    assert call.request.url == "https://api.kite.trade/orders/amo"
    assert form(call)["variety"] == "amo"


def test_insufficient_margin_is_a_rejection_with_kites_reason(kite_wire):
    kite_wire.reply("POST", "/orders/regular", "orders_place_insufficient_margin.json", status=400)

    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().order_place(LIMIT_BUY)

    assert caught.value.status_code == 400
    assert caught.value.detail == (
        "Insufficient funds. Required margin is 95417.84 but available margin is 74251.80. "
        "Check the orderbook for open orders."
    )


def test_input_exception_on_place_is_a_rejection_with_kites_reason(kite_wire):
    kite_wire.reply("POST", "/orders/regular", "orders_place_markets_closed.json", status=400)

    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().order_place(LIMIT_BUY)

    assert caught.value.detail == "Markets are closed right now. Use GTT for placing long standing orders instead."


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("variety", "co", "Zerodha does not take order variety 'co'."),
        ("order_type", "STOP", "Zerodha does not take order type 'STOP'."),
        ("validity", "GTC", "Zerodha does not take validity 'GTC'."),
        ("validity", "TTL", "Zerodha does not take validity 'TTL'."),  # Kite reports TTL orders; BudhiTrade places none
        ("exchange", "LSE", "Zerodha does not take exchange 'LSE'."),
        ("product", "BTST", "Zerodha does not take product 'BTST'."),
    ],
)
def test_order_kite_cannot_take_is_rejected_before_any_call(kite_wire, field, value, message):
    order = OrderRequest(**{**vars(LIMIT_BUY), field: value})

    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().order_place(order)

    assert caught.value.detail == message
    assert len(kite_wire.mock.calls) == 0


# --- modify and cancel ---------------------------------------------------------------------------

def test_modify_puts_only_the_changed_fields(kite_wire):
    kite_wire.reply("PUT", f"/orders/regular/{ORDER_ID}", "orders_modify_success.json")

    order_id = adapter().order_modify(ORDER_ID, OrderChange(quantity=3, price=Decimal("1419.95")))

    assert order_id == ORDER_ID
    [call] = kite_wire.calls(f"/orders/regular/{ORDER_ID}")
    assert call.request.method == "PUT"
    # kiteconnect repeats the variety and order id in the body.
    assert form(call) == {"variety": "regular", "order_id": ORDER_ID, "quantity": "3", "price": "1419.95"}


def test_modify_an_amo_stop_loss_to_a_new_trigger(kite_wire):
    kite_wire.reply("PUT", f"/orders/amo/{ORDER_ID}", "orders_modify_success.json")

    adapter().order_modify(ORDER_ID, OrderChange(order_type="SL-M", trigger_price=Decimal("2140")), variety="amo")

    assert form(kite_wire.calls(f"/orders/amo/{ORDER_ID}")[0]) == {
        "variety": "amo", "order_id": ORDER_ID, "order_type": "SL-M", "trigger_price": "2140",
    }


def test_modify_that_changes_nothing_is_rejected_without_a_call(kite_wire):
    with pytest.raises(BrokerOrderRejected):
        adapter().order_modify(ORDER_ID, OrderChange())

    assert len(kite_wire.mock.calls) == 0


def test_cancel_deletes_the_order_at_its_variety(kite_wire):
    kite_wire.reply("DELETE", f"/orders/regular/{ORDER_ID}", "orders_cancel_success.json")

    order_id = adapter().order_cancel(ORDER_ID)

    assert order_id == ORDER_ID
    [call] = kite_wire.calls(f"/orders/regular/{ORDER_ID}")
    assert (call.request.method, call.request.url) == ("DELETE", f"https://api.kite.trade/orders/regular/{ORDER_ID}")


@pytest.mark.parametrize(
    "method,act,fixture,reason",
    [
        ("PUT", lambda a: a.order_modify(ORDER_ID, OrderChange(price=Decimal("1"))), "orders_modify_rejected.json",
         "Order cannot be modified as it is being processed. Try later."),
        ("DELETE", lambda a: a.order_cancel(ORDER_ID), "orders_cancel_rejected.json",
         "Order cannot be cancelled as it is being processed. Try later."),
    ],
    ids=["modify", "cancel"],
)
def test_order_exception_on_modify_or_cancel_is_a_rejection(kite_wire, method, act, fixture, reason):
    kite_wire.reply(method, f"/orders/regular/{ORDER_ID}", fixture, status=400)

    with pytest.raises(BrokerOrderRejected) as caught:
        act(adapter())

    assert (caught.value.status_code, caught.value.detail) == (400, reason)


# --- order book, history, trades -----------------------------------------------------------------

def test_order_book_maps_every_status_kite_reports(kite_wire):
    kite_wire.reply("GET", "/orders", "orders_book.json")

    orders = adapter().orders()

    assert [(o.broker_order_id, o.status) for o in orders] == [
        ("100000000000000", OrderStatus.CANCELLED),
        ("300000000000000", OrderStatus.COMPLETE),
        ("220524001859672", OrderStatus.REJECTED),
        ("700000000000000", OrderStatus.COMPLETE),
        ("210531000912345", OrderStatus.OPEN),
        ("210531001023456", OrderStatus.TRIGGER_PENDING),
        ("210531002134567", OrderStatus.OPEN),  # AMO REQ RECEIVED: resting until the open
        ("210531001245678", OrderStatus.PENDING),  # OPEN PENDING: not yet at the exchange
    ]


def test_partially_filled_order_keeps_filled_and_pending_quantities(kite_wire):
    kite_wire.reply("GET", "/orders", "orders_book.json")

    partial = adapter().orders()[4]

    assert partial == BrokerOrder(
        broker_order_id="210531000912345",
        status=OrderStatus.OPEN,
        tradingsymbol="INFY",
        exchange="NSE",
        transaction_type="BUY",
        order_type="LIMIT",
        product="MIS",
        quantity=100,
        filled_quantity=40,
        pending_quantity=60,
        price=Decimal("1420.5"),
        trigger_price=Decimal("0"),
        average_price=Decimal("1420.35"),
        status_message="",
        tag="bt9f2c41d07a",
        exchange_order_id="1100000009123450",
        variety="regular",
        validity="DAY",
        order_timestamp=ist(2021, 5, 31, 10, 2, 11),
        exchange_timestamp=ist(2021, 5, 31, 10, 2, 11),
        exchange_update_timestamp=ist(2021, 5, 31, 10, 2, 14),
    )


def test_trigger_pending_stop_loss_carries_its_trigger_price(kite_wire):
    kite_wire.reply("GET", "/orders", "orders_book.json")

    stop_loss = adapter().orders()[5]

    assert (stop_loss.status, stop_loss.order_type, stop_loss.transaction_type, stop_loss.exchange) == (
        OrderStatus.TRIGGER_PENDING, "SL", "SELL", "NFO"
    )
    assert (stop_loss.price, stop_loss.trigger_price, stop_loss.pending_quantity) == (
        Decimal("15480"), Decimal("15500"), 75
    )


def test_rejected_order_carries_kites_reason_and_no_exchange_times(kite_wire):
    kite_wire.reply("GET", "/orders", "orders_book.json")

    rejected = adapter().orders()[2]

    assert rejected.status_message == (
        "Insufficient funds. Required margin is 95417.84 but available margin is 74251.80. "
        "Check the orderbook for open orders."
    )
    assert (rejected.exchange_order_id, rejected.exchange_timestamp) == ("", None)
    assert (rejected.variety, rejected.validity, rejected.tag) == ("iceberg", "TTL", "icebergord")
    assert rejected.order_timestamp == ist(2022, 5, 24, 12, 26, 52)


def test_cancelled_order_has_nothing_pending_and_keeps_the_cancelled_amount(kite_wire):
    kite_wire.reply("GET", "/orders", "orders.json")

    book = adapter().orders()
    cancelled = book[0]

    assert (cancelled.status, cancelled.quantity, cancelled.filled_quantity) == (OrderStatus.CANCELLED, 1, 0)
    assert (cancelled.pending_quantity, cancelled.cancelled_quantity) == (0, 1)
    # Kite's seventh row says pending 60 and cancelled 0: the 60 unfilled are what was cancelled.
    assert (book[6].status, book[6].pending_quantity, book[6].cancelled_quantity) == (OrderStatus.CANCELLED, 0, 60)
    assert (cancelled.exchange, cancelled.price, cancelled.tag) == ("CDS", Decimal("72"), "")
    assert cancelled.exchange_update_timestamp == ist(2021, 5, 31, 9, 18, 58)


def test_ttl_order_carries_its_minutes_and_a_day_order_none(kite_wire):
    kite_wire.reply("GET", "/orders", "orders.json")

    orders = {o.broker_order_id: o for o in adapter().orders()}

    iceberg = orders["220524001859672"]
    assert (iceberg.validity, iceberg.validity_ttl, iceberg.variety) == ("TTL", 2, "iceberg")
    assert (iceberg.exchange_update_timestamp, iceberg.exchange_timestamp) == (None, None)
    assert orders["98000000000000000"].validity_ttl is None  # DAY, with Kite's validity_ttl 0
    assert orders["1953367517686685697"].disclosed_quantity == 0


def test_nineteen_digit_order_ids_stay_exact_strings(kite_wire):
    kite_wire.reply("GET", "/orders", "orders.json")

    ids = [o.broker_order_id for o in adapter().orders()]

    assert ids[-2:] == ["1953341975595868160", "1953367517686685697"]


def test_order_timestamps_are_aware_ist_datetimes(kite_wire):
    kite_wire.reply("GET", "/orders", "orders_book.json")

    completed = adapter().orders()[1]

    assert completed.order_timestamp == ist(2021, 5, 31, 15, 20, 28)
    assert completed.order_timestamp.utcoffset().total_seconds() == 5.5 * 3600
    assert completed.order_timestamp.isoformat() == "2021-05-31T15:20:28+05:30"


def test_empty_order_book_is_an_empty_list(kite_wire):
    kite_wire.reply("GET", "/orders", "orders_book_empty.json")

    assert adapter().orders() == []


def test_order_history_gives_every_state_oldest_first(kite_wire):
    kite_wire.reply("GET", "/orders/171229000724687", "order_history.json")

    history = adapter().order_history("171229000724687")

    assert [o.status for o in history] == [
        OrderStatus.PENDING,  # PUT ORDER REQ RECEIVED
        OrderStatus.PENDING,  # VALIDATION PENDING
        OrderStatus.PENDING,  # OPEN PENDING
        OrderStatus.OPEN,
        OrderStatus.OPEN,  # MODIFY VALIDATION PENDING
        OrderStatus.OPEN,  # MODIFY PENDING
        OrderStatus.OPEN,  # MODIFIED
        OrderStatus.OPEN,
    ]
    assert [o.price for o in history][-2:] == [Decimal("300"), Decimal("300.1")]
    assert (history[0].exchange_order_id, history[0].exchange_timestamp) == ("", None)
    assert (history[3].exchange_order_id, history[3].exchange_timestamp) == (
        "1300000001887410", ist(2017, 12, 29, 11, 6, 52)
    )
    assert history[-1].order_timestamp == ist(2017, 12, 29, 11, 8, 16)


def test_trades_map_each_fill_with_its_price(kite_wire):
    kite_wire.reply("GET", "/trades", "trades.json")

    fills = adapter().trades()

    assert fills[1] == Fill(
        trade_id="40000000",
        broker_order_id="500000000000000",
        tradingsymbol="USDINR21JUNFUT",
        exchange="CDS",
        transaction_type="BUY",
        product="MIS",
        quantity=1,
        price=Decimal("72.755"),
        exchange_order_id="600000000000000",
        fill_timestamp=ist(2021, 5, 31, 11, 18, 27),
        exchange_timestamp=ist(2021, 5, 31, 11, 18, 27),
    )
    assert [(f.trade_id, f.exchange, f.price) for f in fills] == [
        ("10000000", "NSE", Decimal("420.65")),
        ("40000000", "CDS", Decimal("72.755")),
        ("70000000", "MCX", Decimal("4852")),
        ("90000000", "MCX", Decimal("4852")),
    ]


def test_an_unknown_status_or_exchange_keeps_kites_value_in_its_row_and_the_book_comes_through(
        kite_wire, caplog, monkeypatch):
    monkeypatch.setattr("brokers.adapters.wiremap._seen", set())  # as in a fresh process
    kite_wire.reply("GET", "/orders", "orders_unknown_values.json")

    with caplog.at_level("WARNING", logger="budhitrade.brokers"):
        orders = adapter().orders()
        adapter().orders()  # the same values again: logged once

    assert len(orders) == len(wire_body("zerodha", "orders_unknown_values.json")["data"])
    assert (orders[1].broker_order_id, orders[1].status) == ("300000000000000", "LAPSED")
    assert (orders[2].broker_order_id, orders[2].exchange, orders[2].status) == (
        "500000000000000", "NCO", OrderStatus.COMPLETE)
    assert [o.status for o in orders[3:5]] == [OrderStatus.REJECTED, OrderStatus.COMPLETE]
    logged = [(r.field, r.value) for r in caplog.records if r.getMessage() == "zerodha_unknown_value"]
    assert sorted(logged) == [("exchange", "NCO"), ("order status", "LAPSED")]


def test_an_unknown_exchange_in_the_trade_book_keeps_the_other_fills(kite_wire):
    kite_wire.reply("GET", "/trades", "trades_unknown_exchange.json")

    fills = adapter().trades()

    assert [(f.trade_id, f.exchange) for f in fills] == [
        ("10000000", "NSE"), ("40000000", "NCO"), ("70000000", "MCX"), ("90000000", "MCX")]


# --- failures ------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "method,path,act",
    [
        ("POST", "/orders/regular", lambda a: a.order_place(LIMIT_BUY)),
        ("PUT", f"/orders/regular/{ORDER_ID}", lambda a: a.order_modify(ORDER_ID, OrderChange(quantity=1))),
        ("DELETE", f"/orders/regular/{ORDER_ID}", lambda a: a.order_cancel(ORDER_ID)),
        ("GET", "/orders", lambda a: a.orders()),
        ("GET", f"/orders/{ORDER_ID}", lambda a: a.order_history(ORDER_ID)),
        ("GET", "/trades", lambda a: a.trades()),
    ],
    ids=["place", "modify", "cancel", "orders", "order_history", "trades"],
)
def test_expired_access_token_means_the_session_expired_not_a_rejection(kite_wire, method, path, act):
    kite_wire.reply(method, path, "session_expired.json", status=403)

    with pytest.raises(BrokerSessionExpired) as caught:
        act(adapter())

    assert caught.value.status_code == 409


@pytest.mark.parametrize(
    "fixture,status", [("server_error.json", 502), ("general_error.json", 500)], ids=["oms_down", "general"]
)
def test_broker_5xx_on_place_is_a_bad_gateway_not_a_rejection(kite_wire, fixture, status):
    kite_wire.reply("POST", "/orders/regular", fixture, status=status)

    with pytest.raises(BrokerError) as caught:
        adapter().order_place(LIMIT_BUY)

    assert type(caught.value) is BrokerError
    assert caught.value.status_code == 502
    assert caught.value.detail == f"Zerodha failed to answer (HTTP {status})."


def test_broker_5xx_on_order_book_is_a_bad_gateway(kite_wire):
    kite_wire.reply("GET", "/orders", "server_error.json", status=502)

    with pytest.raises(BrokerError) as caught:
        adapter().orders()

    assert (type(caught.value), caught.value.status_code) == (BrokerError, 502)


def test_timeout_on_place_is_a_broker_timeout(kite_wire):
    kite_wire.fail("POST", "/orders/regular", requests.ReadTimeout("read timed out"))

    with pytest.raises(BrokerTimeout) as caught:
        adapter().order_place(LIMIT_BUY)

    assert caught.value.status_code == 504


def test_timeout_on_trades_is_a_broker_timeout(kite_wire):
    kite_wire.fail("GET", "/trades", requests.ReadTimeout("read timed out"))

    with pytest.raises(BrokerTimeout):
        adapter().trades()


def test_unreachable_kite_on_cancel_is_unavailable(kite_wire):
    kite_wire.fail("DELETE", f"/orders/regular/{ORDER_ID}", requests.ConnectionError("connection refused"))

    with pytest.raises(BrokerUnavailable):
        adapter().order_cancel(ORDER_ID)


def test_the_order_id_in_the_path_is_the_one_asked_for(kite_wire):
    kite_wire.reply("GET", "/orders/171229000724687", "order_history.json")

    adapter().order_history("171229000724687")

    [call] = kite_wire.mock.calls
    assert urlsplit(call.request.url).path == "/orders/171229000724687"


def test_input_exception_on_a_read_is_a_broker_error_with_kites_reason(kite_wire):
    kite_wire.reply("GET", "/orders/999", "order_history_unknown_order.json", status=400)

    with pytest.raises(BrokerError) as caught:
        adapter().order_history("999")

    assert (type(caught.value), caught.value.status_code) == (BrokerError, 502)
    assert caught.value.detail == "Zerodha refused the request: Couldn't find that `order_id`."
