"""Kite's order postbacks through ZerodhaAdapter.order_from_push: the checksum, and each status as the order's state."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from brokers.adapters.base import BrokerAuthRejected
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.adapters.zerodha.mapping import IST
from brokers.domain import OrderStatus
from brokers.tests.fixtures import wire_body

SECRET = "kitesecret456"


def adapter() -> ZerodhaAdapter:
    return ZerodhaAdapter(credentials={"api_key": "kitekey123", "api_secret": SECRET}, session={})


def signed(fixture: str, **changes) -> dict:
    """A recorded postback, changed as the case needs and signed with the test secret as Kite would sign it."""
    payload = {**wire_body("zerodha", fixture), **changes}
    payload["checksum"] = hashlib.sha256(f"{payload['order_id']}{payload['order_timestamp']}{SECRET}".encode()).hexdigest()
    return payload


def test_an_update_for_a_partial_fill_is_the_open_order_with_what_is_filled_and_pending():
    order = adapter().order_from_push(signed("postback_update_partial_fill.json"))

    assert (order.broker_order_id, order.status) == ("210709003691276", OrderStatus.OPEN)
    assert (order.quantity, order.filled_quantity, order.pending_quantity) == (10, 4, 6)
    assert (order.average_price, order.price) == (Decimal("419.95"), Decimal("420"))
    assert order.exchange_update_timestamp.isoformat() == "2021-07-09T15:00:57+05:30"


def test_an_update_for_a_modification_is_the_open_order_as_it_now_stands():
    order = adapter().order_from_push(signed("postback_update.json"))

    assert (order.status, order.filled_quantity, order.pending_quantity) == (OrderStatus.OPEN, 0, 1)
    assert (order.order_type, order.price, order.product, order.exchange_order_id) == (
        "LIMIT", Decimal("420"), "MIS", "1300000015536862")
    assert order.order_timestamp.tzinfo == IST


def test_an_update_of_a_stop_loss_not_yet_triggered_keeps_it_waiting_for_its_trigger():
    order = adapter().order_from_push(signed("postback_update.json", order_type="SL", trigger_price=418))

    assert (order.status, order.order_type, order.trigger_price) == (OrderStatus.TRIGGER_PENDING, "SL", Decimal("418"))


def test_an_update_of_a_triggered_stop_loss_with_a_fill_is_open():
    order = adapter().order_from_push(signed("postback_update_partial_fill.json", order_type="SL-M"))

    assert (order.status, order.filled_quantity) == (OrderStatus.OPEN, 4)


def test_an_update_that_fills_the_last_share_is_complete():
    order = adapter().order_from_push(signed("postback_update.json", filled_quantity=1, pending_quantity=0,
                                             average_price=419.9))

    assert (order.status, order.filled_quantity, order.average_price) == (OrderStatus.COMPLETE, 1, Decimal("419.9"))


def test_a_complete_postback_is_the_completed_order():
    order = adapter().order_from_push(signed("postback.json"))

    assert (order.broker_order_id, order.status, order.filled_quantity, order.average_price) == (
        "220303000308932", OrderStatus.COMPLETE, 1, Decimal("470"))


@pytest.mark.parametrize("payload", [
    wire_body("zerodha", "postback_update.json"),  # the truncated checksum Kite's documentation prints
    {**signed("postback_update.json"), "order_id": "210709003691277"},  # signed for another order
    {key: value for key, value in signed("postback.json").items() if key != "checksum"},
], ids=["docs-checksum", "another-order", "no-checksum"])
def test_a_postback_our_secret_did_not_sign_is_refused(payload):
    with pytest.raises(BrokerAuthRejected):
        adapter().order_from_push(payload)
