"""KotakNeoAdapter orders through the real neo_api_client SDK against recorded Neo responses.

Each test checks what the SDK put on the wire (route and the jData form
field) and what came back as BudhiTrade's domain types.
"""

import json
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest

from brokers.adapters.base import (
    BrokerError,
    BrokerOrderRejected,
    BrokerSessionExpired,
    BrokerTimeout,
)
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.calendar import IST
from brokers.domain import BrokerOrder, Fill, OrderChange, OrderRequest, OrderStatus
from brokers.tests.fixtures import NEO_TRADE_HOST

CREDENTIALS = {"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"}
TRADE_SESSION = {
    "edit_token": "eyJ.trade", "edit_sid": "sid-2", "edit_rid": "rid-2",
    "base_url": NEO_TRADE_HOST, "ucc": "AB123",
}
PLACE = f"{NEO_TRADE_HOST}/quick/order/rule/ms/place"
MODIFY = f"{NEO_TRADE_HOST}/quick/order/vr/modify"
CANCEL = f"{NEO_TRADE_HOST}/quick/order/cancel"
ORDERS = f"{NEO_TRADE_HOST}/quick/user/orders"
HISTORY = f"{NEO_TRADE_HOST}/quick/order/history"
TRADES = f"{NEO_TRADE_HOST}/quick/user/trades"

OPEN_ORDER = "250122000612876"  # the open IDEA-EQ limit buy in orders_book_success.json
STOP_ORDER = "250122000640004"  # the trigger-pending SL-M sell in orders_book_in_flight.json


def adapter(session=TRADE_SESSION):
    return KotakNeoAdapter(credentials=CREDENTIALS, session=session, options={"environment": "prod"})


def jdata(request: httpx.Request) -> dict:
    """The form field the SDK's REST client sends Kotak: jData=<JSON>."""
    return json.loads(parse_qs(request.content.decode())["jData"][0])


def idea_limit_buy(**changes) -> OrderRequest:
    fields = dict(
        tradingsymbol="IDEA-EQ", exchange="NSE", transaction_type="BUY", order_type="LIMIT",
        product="NRML", quantity=1, price=Decimal("9.39"),
    )
    return OrderRequest(**{**fields, **changes})


def ist(day: int, hour: int, minute: int, second: int) -> datetime:
    return datetime(2025, 1, day, hour, minute, second, tzinfo=IST)


# --- place ------------------------------------------------------------------------------------

def test_place_sends_the_mapped_order_as_jdata_and_returns_kotaks_order_number(neo_wire):
    neo_wire.reply("POST", PLACE, "order_place_success.json")

    order_id = adapter().order_place(idea_limit_buy(tag="bt-3f9a2c"))

    assert order_id == "250122000612876"
    (request,) = neo_wire.calls(PLACE)
    assert request.method == "POST"
    assert request.headers["Sid"] == "sid-2"
    assert request.headers["Auth"] == "eyJ.trade"
    assert request.headers["Authorization"] == "neoConsumerKey1"
    assert jdata(request) == {
        "am": "NO",
        "dq": "0",
        "es": "nse_cm",
        "mp": "0",
        "pc": "NRML",
        "pr": "9.39",
        "pt": "L",
        "qt": "1",
        "rt": "DAY",
        "tp": "0",
        "ts": "IDEA-EQ",
        "tt": "B",
        "ig": "bt-3f9a2c",
        "os": "NEOTRADEAPI",
    }


def test_place_without_a_tag_sends_no_tag(neo_wire):
    neo_wire.reply("POST", PLACE, "order_place_success.json")

    adapter().order_place(idea_limit_buy())

    assert jdata(neo_wire.calls(PLACE)[0])["ig"] is None


@pytest.mark.parametrize(
    "order,wire",
    [
        (
            OrderRequest("NIFTY25JAN23500PE", "NFO", "SELL", "SL-M", "MIS", 75,
                         trigger_price=Decimal("101.5"), validity="IOC"),
            {"es": "nse_fo", "tt": "S", "pt": "SL-M", "pc": "MIS", "rt": "IOC", "pr": "0", "tp": "101.5",
             "qt": "75", "am": "NO"},
        ),
        (
            OrderRequest("RELIANCE", "BSE", "BUY", "MARKET", "CNC", 3, variety="amo"),
            {"es": "bse_cm", "tt": "B", "pt": "MKT", "pc": "CNC", "rt": "DAY", "pr": "0", "tp": "0",
             "qt": "3", "am": "YES"},
        ),
        (
            OrderRequest("SENSEX25JANFUT", "BFO", "BUY", "SL", "NRML", 20, price=Decimal("250.05"),
                         trigger_price=Decimal("250.00"), disclosed_quantity=10),
            {"es": "bse_fo", "tt": "B", "pt": "SL", "pc": "NRML", "rt": "DAY", "pr": "250.05", "tp": "250.00",
             "qt": "20", "am": "NO", "dq": "10"},
        ),
        (
            OrderRequest("CRUDEOIL25FEBFUT", "MCX", "SELL", "MARKET", "NRML", 1),
            {"es": "mcx_fo", "tt": "S", "pt": "MKT", "pc": "NRML", "rt": "DAY", "pr": "0", "tp": "0",
             "qt": "1", "am": "NO"},
        ),
    ],
)
def test_place_maps_each_budhitrade_value_to_kotaks(neo_wire, order, wire):
    neo_wire.reply("POST", PLACE, "order_place_success.json")

    adapter().order_place(order)

    sent = jdata(neo_wire.calls(PLACE)[0])
    assert {key: sent[key] for key in wire} == wire
    assert sent["ts"] == order.tradingsymbol


@pytest.mark.parametrize(
    "changes,detail",
    [
        ({"exchange": "CDS"}, "Kotak Neo does not take the exchange 'CDS'."),
        ({"order_type": "STOPLIMIT"}, "Kotak Neo does not take the order type 'STOPLIMIT'."),
        ({"transaction_type": "SHORT"}, "Kotak Neo does not take the transaction type 'SHORT'."),
        ({"product": "MTF"}, "Kotak Neo does not take the product 'MTF'."),
        ({"validity": "TTL"}, "Kotak Neo does not take the validity 'TTL'."),
        ({"variety": "co"}, "Kotak Neo does not take the order variety 'co'."),
    ],
)
def test_place_refuses_a_value_kotak_does_not_take_without_sending_anything(neo_wire, changes, detail):
    neo_wire.reply("POST", PLACE, "order_place_success.json")

    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().order_place(idea_limit_buy(**changes))

    assert caught.value.status_code == 400
    assert caught.value.detail == detail
    assert neo_wire.calls(PLACE) == []


@pytest.mark.parametrize(
    "fixture,http_status,detail",
    [
        ("order_place_rejected.json", 200, "invalid  access type"),
        ("order_place_insufficient_balance.json", 200, "Insufficient balance."),
        # Kotak refuses a tag it has seen that day; its only useful words are in `stat`.
        (
            "order_place_duplicate_tag.json", 200,
            "error from core (Put Order Response : Client OrderID already exists Data: 0)",
        ),
        ("order_place_insufficient_balance.json", 400, "Insufficient balance."),
        ("order_place_body_invalid.json", 400, "body invalid (bad request)"),
    ],
)
def test_a_refused_order_is_rejected_with_kotaks_reason(neo_wire, fixture, http_status, detail):
    neo_wire.reply("POST", PLACE, fixture, status=http_status)

    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().order_place(idea_limit_buy(tag="bt-3f9a2c"))

    assert caught.value.status_code == 400
    assert caught.value.detail == detail
    assert len(neo_wire.calls(PLACE)) == 1


def test_an_order_the_sdk_refuses_is_rejected_without_reaching_kotak(neo_wire):
    neo_wire.reply("POST", PLACE, "order_place_success.json")

    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().order_place(idea_limit_buy(price=None))

    assert caught.value.detail == "price must be greater than zero for order_type 'L'."
    assert neo_wire.calls(PLACE) == []


# --- modify and cancel ------------------------------------------------------------------------

def test_modify_sends_the_whole_order_with_the_change_from_the_book(neo_wire):
    neo_wire.reply("GET", ORDERS, "orders_book_success.json")
    neo_wire.reply("POST", MODIFY, "order_modify_success.json")

    order_id = adapter().order_modify(OPEN_ORDER, OrderChange(price=Decimal("9.45"), quantity=2))

    assert order_id == OPEN_ORDER
    assert [(r.method, str(r.url)) for r in neo_wire.requests if "quick" in str(r.url)] == [
        ("GET", ORDERS), ("POST", MODIFY),
    ]
    assert jdata(neo_wire.calls(MODIFY)[0]) == {
        "mp": "0",
        "dq": "0",
        "vd": "DAY",
        "pr": "9.45",
        "pt": "L",
        "am": "NO",
        "tp": "0",
        "qt": "2",
        "no": OPEN_ORDER,
        "os": "NEOTRADEAPI",
    }


def test_modifying_a_stop_orders_trigger_keeps_the_rest_of_the_order(neo_wire):
    neo_wire.reply("GET", ORDERS, "orders_book_in_flight.json")
    neo_wire.reply("POST", MODIFY, "order_modify_success.json")

    adapter().order_modify(STOP_ORDER, OrderChange(trigger_price=Decimal("9.05")))

    sent = jdata(neo_wire.calls(MODIFY)[0])
    assert {key: sent[key] for key in ("no", "pt", "pr", "tp", "qt", "vd", "am")} == {
        "no": STOP_ORDER, "pt": "SL-M", "pr": "0", "tp": "9.05", "qt": "5", "vd": "IOC", "am": "NO",
    }


def test_modifying_a_limit_order_to_market_sends_price_zero(neo_wire):
    neo_wire.reply("GET", ORDERS, "orders_book_success.json")
    neo_wire.reply("POST", MODIFY, "order_modify_success.json")

    adapter().order_modify(OPEN_ORDER, OrderChange(order_type="MARKET"), variety="amo")

    sent = jdata(neo_wire.calls(MODIFY)[0])
    assert (sent["pt"], sent["pr"], sent["tp"], sent["qt"], sent["am"]) == ("MKT", "0", "0", "1", "YES")


def test_modifying_an_order_not_in_todays_book_is_rejected_without_sending_it(neo_wire):
    neo_wire.reply("GET", ORDERS, "orders_book_success.json")
    neo_wire.reply("POST", MODIFY, "order_modify_success.json")

    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().order_modify("250122999999999", OrderChange(price=Decimal("9.45")))

    assert caught.value.detail == "Kotak Neo has no order 250122999999999 in today's order book."
    assert neo_wire.calls(MODIFY) == []


def test_a_modification_that_changes_nothing_is_rejected_without_calling_kotak(neo_wire):
    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().order_modify(OPEN_ORDER, OrderChange())

    assert caught.value.detail == "The modification changes nothing."
    assert [r for r in neo_wire.requests if "quick" in str(r.url)] == []


@pytest.mark.parametrize("variety,amo", [("regular", "NO"), ("amo", "YES")])
def test_cancel_sends_the_order_number_and_the_amo_flag(neo_wire, variety, amo):
    neo_wire.reply("POST", CANCEL, "order_cancel_success.json")

    order_id = adapter().order_cancel(OPEN_ORDER, variety=variety)

    assert order_id == OPEN_ORDER
    (request,) = neo_wire.calls(CANCEL)
    assert jdata(request) == {"on": OPEN_ORDER, "am": amo}


def test_cancelling_a_completed_order_is_rejected_with_kotaks_reason(neo_wire):
    neo_wire.reply("POST", CANCEL, "order_cancel_completed.json")

    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().order_cancel("250122000624384")

    # the real body's `stat` is a sentence too, so it is kept
    assert caught.value.detail == "order is completed (please provide valid order number)"


# --- order book, history, trade book ------------------------------------------------------------

def test_orders_map_every_field_of_the_order_book(neo_wire):
    neo_wire.reply("GET", ORDERS, "orders_book_success.json")

    (open_order,) = adapter().orders()

    assert open_order == BrokerOrder(
        broker_order_id=OPEN_ORDER,
        status=OrderStatus.OPEN,
        tradingsymbol="IDEA-EQ",
        exchange="NSE",
        transaction_type="BUY",
        order_type="LIMIT",
        product="NRML",
        quantity=1,
        filled_quantity=0,
        pending_quantity=1,
        price=Decimal("9.39"),
        trigger_price=Decimal("0.00"),
        average_price=Decimal("0.00"),
        status_message="",
        tag="",
        exchange_order_id="1100000059569867",
        variety="regular",
        validity="DAY",
        order_timestamp=ist(22, 14, 28, 1),
        exchange_timestamp=ist(22, 14, 28, 1),
        cancelled_quantity=0,
        disclosed_quantity=0,
        exchange_update_timestamp=ist(22, 14, 28, 1),  # boeSec 1737536281
    )
    assert open_order.order_timestamp.utcoffset().total_seconds() == 5.5 * 3600


def test_orders_the_rms_rejected_never_reached_the_exchange(neo_wire):
    neo_wire.reply("GET", ORDERS, "orders_book_rejected.json")

    first, second = adapter().orders()

    assert (first.broker_order_id, first.status, first.tradingsymbol, first.order_type, first.product) == (
        "220621000000098", OrderStatus.REJECTED, "TCS-EQ", "MARKET", "CNC")
    assert first.status_message.startswith("RMS:Rule: Check circuit limit including square off order exceeds")
    assert (first.exchange_order_id, first.exchange_timestamp, first.exchange_update_timestamp) == ("", None, None)
    assert (first.pending_quantity, first.cancelled_quantity) == (0, 0)
    assert first.order_timestamp == datetime(2022, 6, 21, 14, 49, 32, tzinfo=IST)
    assert second.tag == "1655803119-377269-TESTY1124A-ADMINAPI"


@pytest.mark.parametrize("cancelled_on_wire,expected", [(1, 1), (0, 1)])
def test_a_cancelled_order_keeps_its_cancelled_quantity(neo_wire, cancelled_on_wire, expected):
    from brokers.tests.fixtures import wire_body

    body = wire_body("kotak_neo", "orders_book_success.json")
    body["data"][0].update(ordSt="cancelled", stat="cancelled", cnlQty=cancelled_on_wire, unFldSz=1)
    neo_wire.routes[("GET", ORDERS)] = (200, body)

    (order,) = adapter().orders()

    assert (order.status, order.quantity, order.filled_quantity) == (OrderStatus.CANCELLED, 1, 0)
    assert (order.pending_quantity, order.cancelled_quantity) == (0, expected)


@pytest.mark.parametrize(
    "order_id,status,variety",
    [
        ("250122000640001", OrderStatus.PENDING, "regular"),  # put order req received
        ("250122000640002", OrderStatus.PENDING, "regular"),  # validation pending
        ("250122000640003", OrderStatus.PENDING, "regular"),  # open pending
        (STOP_ORDER, OrderStatus.TRIGGER_PENDING, "regular"),  # trigger pending
        ("250122000640005", OrderStatus.OPEN, "regular"),  # modify validation pending
        ("250122000640006", OrderStatus.OPEN, "regular"),  # modify pending
        ("250122000640007", OrderStatus.OPEN, "regular"),  # modified
        ("250122000640008", OrderStatus.OPEN, "regular"),  # not modified
        ("250122000640009", OrderStatus.OPEN, "regular"),  # cancel pending
        ("250122000640010", OrderStatus.OPEN, "regular"),  # not cancelled
        ("250122000640011", OrderStatus.OPEN, "amo"),  # after market order req received
        ("250122000640012", OrderStatus.OPEN, "amo"),  # modify after market order req received
        ("250122000640013", OrderStatus.CANCELLED, "amo"),  # cancelled after market order
    ],
)
def test_in_flight_statuses_fold_into_budhitrades(neo_wire, order_id, status, variety):
    neo_wire.reply("GET", ORDERS, "orders_book_in_flight.json")

    by_id = {order.broker_order_id: order for order in adapter().orders()}

    assert (by_id[order_id].status, by_id[order_id].variety) == (status, variety)


def test_a_stop_order_in_the_book_maps_its_type_side_trigger_and_tag(neo_wire):
    neo_wire.reply("GET", ORDERS, "orders_book_in_flight.json")

    stop = next(order for order in adapter().orders() if order.broker_order_id == STOP_ORDER)

    assert (stop.order_type, stop.transaction_type, stop.product, stop.validity) == ("SL-M", "SELL", "MIS", "IOC")
    assert (stop.price, stop.trigger_price, stop.quantity, stop.pending_quantity) == (
        Decimal("0.00"), Decimal("9.10"), 5, 5,
    )
    assert stop.tag == "bt-stop-1"


def test_an_unknown_order_status_keeps_kotaks_own_and_the_book_comes_through(neo_wire, caplog, monkeypatch):
    from brokers.adapters import wiremap
    from brokers.tests.fixtures import wire_body

    monkeypatch.setattr(wiremap, "_seen", set())
    body = wire_body("kotak_neo", "orders_book_unknown_status.json")
    body["data"] += wire_body("kotak_neo", "orders_book_rejected.json")["data"]
    neo_wire.routes[("GET", ORDERS)] = (200, body)

    with caplog.at_level("WARNING", logger="budhitrade.brokers"):
        queued, *rejected = adapter().orders()
        adapter().orders()

    assert (queued.broker_order_id, queued.status, queued.quantity) == (OPEN_ORDER, "queued", 1)
    assert [order.status for order in rejected] == [OrderStatus.REJECTED, OrderStatus.REJECTED]
    unknown = [(r.field, r.value) for r in caplog.records if r.getMessage() == "kotak_neo_unknown_value"]
    assert unknown == [("order status", "queued")]


def test_a_placed_order_without_a_number_cannot_be_followed(neo_wire):
    neo_wire.reply("POST", PLACE, "order_place_no_number.json")  # the SDK docs' sample: nOrdNo ""

    with pytest.raises(BrokerError) as caught:
        adapter().order_place(idea_limit_buy())

    assert not isinstance(caught.value, BrokerOrderRejected)
    assert caught.value.detail == "Kotak Neo accepted the order but sent no order number."


def test_order_history_lists_each_state_oldest_first(neo_wire):
    neo_wire.reply("POST", HISTORY, "order_history_success.json")

    history = adapter().order_history("250122000624384")

    assert jdata(neo_wire.calls(HISTORY)[0]) == {"nOrdNo": "250122000624384"}
    assert [order.status for order in history] == [OrderStatus.PENDING] * 3 + [OrderStatus.OPEN, OrderStatus.COMPLETE]
    pending, _, _, open_order, complete = history
    assert (pending.exchange_order_id, pending.exchange_timestamp) == ("", None)
    assert open_order.exchange_order_id == "1100000060414692"
    assert complete == BrokerOrder(
        broker_order_id="250122000624384",
        status=OrderStatus.COMPLETE,
        tradingsymbol="IDEA-EQ",
        exchange="NSE",
        transaction_type="BUY",
        order_type="LIMIT",
        product="NRML",
        quantity=1,
        filled_quantity=1,
        pending_quantity=0,
        price=Decimal("9.39"),
        trigger_price=Decimal("0.00"),
        average_price=Decimal("9.39"),
        exchange_order_id="1100000060414692",
        validity="DAY",
        order_timestamp=ist(22, 14, 33, 1),
        exchange_timestamp=ist(22, 14, 32, 53),
        exchange_update_timestamp=ist(22, 14, 33, 26),  # boeSec 1737536606
    )
    assert pending.exchange_update_timestamp is None  # not at the exchange yet


def test_trades_map_every_field_of_the_trade_book(neo_wire):
    neo_wire.reply("GET", TRADES, "trades_book_success.json")

    first, second = adapter().trades()

    assert first == Fill(
        trade_id="207983744",
        broker_order_id="250122000612876",
        tradingsymbol="IDEA-EQ",
        exchange="NSE",
        transaction_type="BUY",
        product="NRML",
        quantity=1,
        price=Decimal("9.39"),
        exchange_order_id="1100000059569867",
        fill_timestamp=ist(22, 14, 28, 16),
        exchange_timestamp=ist(22, 14, 28, 1),
    )
    assert (second.trade_id, second.broker_order_id, second.fill_timestamp, second.exchange_timestamp) == (
        "208109719", "250122000624384", ist(22, 14, 33, 1), ist(22, 14, 32, 53),
    )


@pytest.mark.parametrize("method,verb,url", [("orders", "GET", ORDERS), ("trades", "GET", TRADES)])
def test_an_empty_book_is_an_empty_list(neo_wire, method, verb, url):
    neo_wire.reply(verb, url, "positions_no_data.json")

    assert getattr(adapter(), method)() == []


# --- failures -------------------------------------------------------------------------------------

CALLS = {
    "place": (lambda a: a.order_place(idea_limit_buy()), "POST", PLACE),
    "cancel": (lambda a: a.order_cancel(OPEN_ORDER), "POST", CANCEL),
    "orders": (lambda a: a.orders(), "GET", ORDERS),
    "history": (lambda a: a.order_history(OPEN_ORDER), "POST", HISTORY),
    "trades": (lambda a: a.trades(), "GET", TRADES),
}


@pytest.mark.parametrize("http_status", [401, 403])
@pytest.mark.parametrize("call", ["place", "cancel", "orders", "history", "trades"])
def test_an_expired_session_is_recognised_not_taken_for_a_rejection(neo_wire, call, http_status):
    operation, verb, url = CALLS[call]
    neo_wire.reply(verb, url, "session_expired.json", status=http_status)

    with pytest.raises(BrokerSessionExpired) as caught:
        operation(adapter())

    assert caught.value.status_code == 409


def test_without_a_trade_session_nothing_is_sent(neo_wire):
    with pytest.raises(BrokerSessionExpired):
        adapter(session={"base_url": NEO_TRADE_HOST}).order_place(idea_limit_buy())

    assert neo_wire.calls(PLACE) == []


@pytest.mark.parametrize("call", ["place", "cancel", "orders", "history", "trades"])
def test_broker_5xx_is_a_bad_gateway_not_a_rejection(neo_wire, call):
    operation, verb, url = CALLS[call]
    neo_wire.reply(verb, url, "order_place_rejected.json", status=503)

    with pytest.raises(BrokerError) as caught:
        operation(adapter())

    assert not isinstance(caught.value, BrokerOrderRejected)
    assert caught.value.status_code == 502
    assert caught.value.detail == "Kotak Neo failed to answer (HTTP 503)."


@pytest.mark.parametrize("call", ["place", "cancel", "orders", "history", "trades"])
def test_timeout_is_a_broker_timeout(neo_wire, call):
    operation, verb, url = CALLS[call]
    neo_wire.fail(verb, url, httpx.ReadTimeout)

    with pytest.raises(BrokerTimeout) as caught:
        operation(adapter())

    assert caught.value.status_code == 504
