"""The Idempotency-Key wrapper of the order-placing endpoints: one run per key and body, its answer replayed.

A handler (the view's placing) gets the key's record, or None without a key,
and ties the orders it saves to it; the same key and body within 24 hours
answers the first result and places nothing new, the same key with another
body is 409 (the contract's "Idempotency-Key").
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from brokers.domain import OrderStatus
from budhitrade.errors import Conflict, InvalidInput, ServiceError, outage_of
from budhitrade.exceptions import api_exception_handler
from orders import reconcile, services
from orders.models import IdempotencyRecord, Order


def idempotent_run(*, request, handler):
    """Run `handler(record)` once per Idempotency-Key and body; replay its answer for 24 hours."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return handler(None)
    if len(key) > 128:
        raise InvalidInput("Idempotency-Key is at most 128 characters.")
    digest = hashlib.sha256(json.dumps([request.path, request.data], sort_keys=True, default=str).encode()).hexdigest()
    IdempotencyRecord.objects.filter(user=request.user, key=key,
                                     created_at__lt=timezone.now() - timedelta(hours=24)).delete()
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(user=request.user, key=key, request_hash=digest)
    except IntegrityError:
        record = IdempotencyRecord.objects.get(user=request.user, key=key)
        if record.request_hash != digest:
            raise Conflict("This Idempotency-Key was used with another request body.")
        if record.response_status is None:
            if record.created_at > timezone.now() - IDEMPOTENCY_STALE:
                raise Conflict("A request with this Idempotency-Key is still being processed.")
            return _recover(request, record, handler)
        return _replay(request, record)
    return _answer(request, record, handler)


def order_place_under(record: IdempotencyRecord | None, *, connection, request) -> Order:
    """Place the order under the key's record (None without a key): the order placed, or the one a failed
    placing saved, is tied to the record, so a retry answers from it."""
    try:
        order = services.order_place(connection=connection, request=request,
                                     idempotency_key=record.key if record else "")
    except Exception as error:
        if record is not None and getattr(error, "order", None) is not None:
            record.orders.add(error.order)
        raise
    if record is not None:
        record.orders.add(order)
    return order


# A request still unanswered after this is gone (its process lost the database mid-request): longer than any
# order request lasts (a batch of 20, each waiting out BROKER_TIMEOUT_SECONDS).
IDEMPOTENCY_STALE = timedelta(seconds=21 * settings.BROKER_TIMEOUT_SECONDS)


def _answer(request, record: IdempotencyRecord, handler):
    """Run the request and keep its answer under the key."""
    try:
        response = handler(record)
    except ServiceError as error:
        response = api_exception_handler(error, {})
    except Exception as error:
        if outage_of(error) is not None:
            # The database or Redis went away (a 503). With no order saved, keep nothing: a retry runs afresh.
            # With one saved, tie it to the key and keep this answer: a retry answers from the order once its
            # outcome is known (`_replay`). Where the database is gone too, nothing can be kept, and a retry
            # answers from the saved order later (`_recover`).
            with contextlib.suppress(Exception):
                saved = list(_orders_saved_under(request, record))
                if not saved:
                    record.delete()
                else:
                    record.orders.add(*saved)
                    answer = api_exception_handler(error, {})
                    if answer is not None:
                        IdempotencyRecord.objects.filter(pk=record.pk).update(
                            response_status=answer.status_code, response_body=answer.data)
            raise
        # Keep the key answerable: a retry replays this (and first settles an order it left UNKNOWN).
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            response_status=500, response_body={"detail": "Internal server error.", "status_code": 500})
        raise
    IdempotencyRecord.objects.filter(pk=record.pk).update(response_status=response.status_code,
                                                          response_body=response.data)
    return response


def _orders_saved_under(request, record: IdempotencyRecord):
    """The orders this request saved under its key (a key may be used again once its record is 24 h old)."""
    return (Order.objects.filter(connection__user=request.user, idempotency_key=record.key,
                                 created_at__gte=record.created_at).select_related("connection"))


def _recover(request, record: IdempotencyRecord, handler):
    """A key whose request ended without keeping its answer: answer from the orders it saved (they carry the key),
    or run it afresh when it saved none."""
    saved = list(_orders_saved_under(request, record))
    if not saved:
        return _answer(request, record, handler)
    record.orders.add(*saved)
    reconcile.order_reconcile(connection=saved[0].connection)
    orders = [Order.objects.get(pk=order.pk) for order in saved]
    if len(orders) > 1 or orders[0].status in (OrderStatus.PENDING, OrderStatus.UNKNOWN):
        raise Conflict("A request with this Idempotency-Key lost its answer; its orders are being settled with "
                       f"the broker: {', '.join(order.order_id for order in orders)}.")
    body, status = _order_answer(orders[0])
    IdempotencyRecord.objects.filter(pk=record.pk).update(response_status=status, response_body=body)
    return Response(body, status=status)


def _order_answer(order: Order) -> tuple[dict, int]:
    """Place-order's answer for an order whose outcome is known."""
    if order.status == OrderStatus.REJECTED:
        return ({"status": "error", "success": False, "error": order.status_message,
                 "detail": order.status_message, "status_code": 400}, 400)
    return ({"status": "success", "account_id": order.connection.account_id, "success": True,
             "order_id": order.order_id, "message": "Order placed successfully"}, 200)


def _replay(request, record: IdempotencyRecord) -> Response:
    """The first answer again. An order it left UNKNOWN is first looked up at the broker; where the first answer
    was an outage's 503 (the order was saved, its outcome not told), the order's own outcome is the answer."""
    orders = list(record.orders.select_related("connection"))
    outage = record.response_status == 503
    unsettled = [order for order in orders
                 if order.status == OrderStatus.UNKNOWN or (outage and order.status == OrderStatus.PENDING)]
    if unsettled:
        reconcile.order_reconcile(connection=unsettled[0].connection)
        orders = [Order.objects.select_related("connection").get(pk=order.pk) for order in orders]
    if len(orders) == 1 and (unsettled or outage) and orders[0].status not in (OrderStatus.PENDING,
                                                                               OrderStatus.UNKNOWN):
        body, status = _order_answer(orders[0])
        IdempotencyRecord.objects.filter(pk=record.pk).update(response_status=status, response_body=body)
        return Response(body, status=status)
    return Response(record.response_body, status=record.response_status)
