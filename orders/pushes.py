"""The one way broker pushes come into orders: each update a broker sends unasked, however it came.

Kite posts to /broker/zerodha/postback (`push_posted_receive`), Kotak Neo's
feed streams in the order-feed process, the paper exchange announces each
change (orders/receivers.py); every adapter has already turned its broker's
push into domain objects, and each one is applied by `push_receive`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db.models import Q

from brokers.adapters.base import BrokerAuthRejected
from brokers.adapters.registry import adapter_class, adapter_for
from brokers.domain import BrokerOrder, OrderStatus
from brokers.models import BrokerConnection
from brokers.pushes import Push, PushSource
from budhitrade.errors import Forbidden, InvalidInput
from orders.lifecycle import (
    fills_follow_apart,
    order_apply,
    order_fills_missing,
    order_progress_apply,
    reconcile_on_commit,
)
from orders.models import Order

logger = logging.getLogger("budhitrade.orders")


def push_receive(*, connection: BrokerConnection, push: Push, source: str) -> bool:
    """Bring the connection's stored order up to what the broker pushed; True when anything changed.

    A whole order (BrokerOrder) is found by the broker's id or BudhiTrade's
    tag. While the order is still PENDING, a push that only says the broker
    took it is left to the placing call, which records the acceptance when the
    broker answers; one that fills it or ends it is applied at once. Fills the
    broker sends apart from its update come from the trade book, by a
    reconcile asked for here (coalesced per account; never where the broker's
    pushes carry every change). A progress update (what moved) is applied by
    the broker's id; see `lifecycle.order_progress_apply`.
    """
    update = push.update
    if not isinstance(update, BrokerOrder):
        return order_progress_apply(connection=connection, progress=update, source=source)
    found = Q(broker_tag=update.tag) if update.tag else Q(pk__in=[])
    if update.broker_order_id:
        found |= Q(broker_order_id=update.broker_order_id)
    order = Order.objects.filter(found, connection=connection).select_related("connection").first()
    if order is None:  # an order placed elsewhere than BudhiTrade
        return False
    if order.status == OrderStatus.PENDING and update.status == OrderStatus.OPEN and not push.fills:
        return False
    changed = order_apply(order=order, state=update, fills=list(push.fills), source=source)
    # The broker sent its fills apart: fetch any not yet recorded (this push recorded none, so the order's traded
    # quantity as read above is still its own).
    if not push.fills and order_fills_missing(order=order, state=update) and fills_follow_apart(connection):
        reconcile_on_commit(connection)
    return changed


def account_connections(*, broker: str, account_id: str):
    """Every connection of one broker account: more than one user may have connected it."""
    return (BrokerConnection.objects.filter(broker=broker, account_id__iexact=account_id)
            .exclude(account_id="").order_by("pk"))


def push_posted_receive(*, broker: str, payload: Mapping[str, Any]) -> int:
    """A push the broker posted to BudhiTrade: applied for each connection of the account it names whose
    adapter accepts its signature. Returns how many accepted it.

    InvalidInput when the push names no account; Forbidden when no
    connection's secret signs it, and then nothing changes.
    """
    try:
        account_id = adapter_class(broker).push_account_id(payload)
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidInput("The push does not name the broker account it is for.") from error
    signed = 0
    for connection in account_connections(broker=broker, account_id=account_id):
        try:
            push = adapter_for(connection).push_from_wire(payload)
        except BrokerAuthRejected:
            continue
        signed += 1
        push_receive(connection=connection, push=push, source=PushSource.POSTBACK)
        logger.info("order_postback_received", extra={"account_id": connection.account_id,
                                                      "broker_order_id": push.update.broker_order_id})
    if not signed:
        logger.warning("order_postback_refused", extra={"broker": broker, "account_id": account_id})
        raise Forbidden("The postback's checksum does not match any connected account.")
    return signed
