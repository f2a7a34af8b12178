"""Seed 002's orders, trades and portfolio paths, for "the" account, over the unified API's services.

Each view reads seed 002's body (its words: vocabulary.py), and then does
what the unified endpoint does (orders.services, portfolio.services): the
same validation, Idempotency-Key, rate limits and errors. "The" account is
the contract's (X-Account-ID, ?broker=, or the only one); an order of
another account, another user's included, is 404. Answers are seed 002's
envelope {"status": "success", "data", "message"} around the unified rows,
so an order reads the same here as in GET /accounts/{account_id}/orders.
"""

from __future__ import annotations

from django.db.models import F
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.lookup import connection_from_request
from brokers.views import ACCOUNT_PARAMETERS
from budhitrade.errors import InvalidInput
from compat.kotak_service import translate
from compat.kotak_service import vocabulary as words
from compat.kotak_service.auth_views import TAG
from compat.kotak_service.serializers import (
    HISTORY_OUTPUT,
    ORDER_OUTPUT,
    ORDERS_OUTPUT,
    PLACE_OUTPUT,
    ROWS_OUTPUT,
    ModifyInputSerializer,
    PlaceInputSerializer,
)
from orders import selectors, services
from orders.idempotency import idempotent_run, order_place_under
from orders.views import IDEMPOTENCY_HEADER, REJECTED_OUTPUT, SAVED_ORDER_ERROR
from portfolio.serializers import holding_rows, position_rows
from portfolio.services import account_sync


def _body(request) -> dict | None:
    return request.data if isinstance(request.data, dict) else None


def _row(connection, order_id: str) -> dict:
    """The order as the unified order book lists it."""
    return selectors.order_rows(orders=selectors.order_find(connection=connection, order_id=order_id)[:1])[0]


def _answer(data, message: str) -> Response:
    return Response({"status": "success", "data": data, "message": message})


class KotakServiceOrderPlaceView(APIView):
    """POST /api/orders/place: seed 002's order body, placed as POST /accounts/{account_id}/orders places."""

    @extend_schema(operation_id="kotak_service_order_place", tags=[TAG], request=PlaceInputSerializer,
                   parameters=[IDEMPOTENCY_HEADER, *ACCOUNT_PARAMETERS],
                   responses={200: PLACE_OUTPUT, 400: REJECTED_OUTPUT, 409: SAVED_ORDER_ERROR,
                              429: SAVED_ORDER_ERROR, 502: SAVED_ORDER_ERROR, 503: SAVED_ORDER_ERROR,
                              504: SAVED_ORDER_ERROR})
    def post(self, request):
        connection = connection_from_request(request)
        serializer = PlaceInputSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        order_request = translate.order_request(connection=connection, **serializer.validated_data)

        def place(record):
            try:
                order = order_place_under(record, connection=connection, request=order_request)
            except InvalidInput as error:  # the instrument's rules (lot, tick, listed): in seed 002's names
                raise InvalidInput(error.detail, errors=words.seed_errors(error.errors)) from error
            return Response({"status": "success", "message": "Order placed successfully", "success": True,
                             "order_id": order.order_id, "account_id": connection.account_id,
                             "data": _row(connection, order.order_id)})

        return idempotent_run(request=request, handler=place)


class KotakServiceOrderModifyView(APIView):
    """PUT /api/orders/modify: seed 002's modification, as PATCH /accounts/{account_id}/orders/{order_id}."""

    @extend_schema(operation_id="kotak_service_order_modify", tags=[TAG], request=ModifyInputSerializer,
                   parameters=ACCOUNT_PARAMETERS, responses={200: ORDER_OUTPUT, 400: REJECTED_OUTPUT})
    def put(self, request):
        connection = connection_from_request(request)
        serializer = ModifyInputSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        order = selectors.order_require(connection=connection, order_id=serializer.validated_data["order_id"])
        change = translate.order_change(current=order, change=serializer.validated_data["change"])
        order = services.order_modify(order=order, change=change)
        return _answer(_row(connection, order.order_id), "Order modified successfully")


class KotakServiceOrderCancelView(APIView):
    """DELETE /api/orders/{order_id}: cancel an open order of "the" account."""

    @extend_schema(operation_id="kotak_service_order_cancel", tags=[TAG], parameters=ACCOUNT_PARAMETERS,
                   responses={200: ORDER_OUTPUT, 400: REJECTED_OUTPUT})
    def delete(self, request, order_id):
        connection = connection_from_request(request)
        order = services.order_cancel(order=selectors.order_require(connection=connection, order_id=order_id))
        return _answer(_row(connection, order.order_id), "Order cancelled successfully")


class KotakServiceOrderListView(APIView):
    """GET /api/orders: the account's order book, newest first, rows as the unified order book's."""

    @extend_schema(operation_id="kotak_service_orders", tags=[TAG], parameters=[
        OpenApiParameter("limit", int, required=False, description="1-1000, default 100"), *ACCOUNT_PARAMETERS],
        responses={200: ORDERS_OUTPUT})
    def get(self, request):
        connection = connection_from_request(request)
        limit = selectors.limit_parse(query_params=request.query_params, default=100)
        orders = selectors.order_list(connection=connection)[:limit]
        return _answer(selectors.order_rows(orders=orders), "Orders retrieved successfully")


class KotakServiceOrderHistoryView(APIView):
    """GET /api/orders/{order_id}/history: every state the order passed through, oldest first."""

    @extend_schema(operation_id="kotak_service_order_history", tags=[TAG], parameters=ACCOUNT_PARAMETERS,
                   responses={200: HISTORY_OUTPUT})
    def get(self, request, order_id):
        order = selectors.order_require(connection=connection_from_request(request), order_id=order_id)
        history = list(selectors.order_event_list(order=order).values(
            "status", "filled_quantity", "average_price", "message", "source", timestamp=F("at")))
        for event in history:
            event["average_price"] = float(round(event["average_price"], 2))
            event["timestamp"] = event["timestamp"].isoformat()
        return _answer(history, "Order history retrieved successfully")


class KotakServiceTradeListView(APIView):
    """GET /api/trades?order_id=: the account's fills, newest first, or one order's."""

    @extend_schema(operation_id="kotak_service_trades", tags=[TAG], parameters=[
        OpenApiParameter("order_id", str, required=False),
        OpenApiParameter("limit", int, required=False, description="1-1000, default 500"), *ACCOUNT_PARAMETERS],
        responses={200: ROWS_OUTPUT})
    def get(self, request):
        connection = connection_from_request(request)
        limit = selectors.limit_parse(query_params=request.query_params, default=500)
        order_id = request.query_params.get("order_id", "").strip()
        order = selectors.order_require(connection=connection, order_id=order_id) if order_id else None
        trades = selectors.trade_rows(connection=connection, order=order, limit=limit)
        return _answer(trades, "Trades retrieved successfully")


class KotakServicePositionsView(APIView):
    """GET /api/portfolio/positions: the account's positions, synced unless younger than PORTFOLIO_FRESH_SECONDS."""

    @extend_schema(operation_id="kotak_service_positions", tags=[TAG], parameters=ACCOUNT_PARAMETERS,
                   responses={200: ROWS_OUTPUT})
    def get(self, request):
        connection = connection_from_request(request)
        account_sync(connection=connection)
        positions = position_rows(connection=connection)
        return _answer(positions, "Positions retrieved successfully")


class KotakServiceHoldingsView(APIView):
    """GET /api/portfolio/holdings: the account's holdings, synced unless younger than PORTFOLIO_FRESH_SECONDS."""

    @extend_schema(operation_id="kotak_service_holdings", tags=[TAG], parameters=ACCOUNT_PARAMETERS,
                   responses={200: ROWS_OUTPUT})
    def get(self, request):
        connection = connection_from_request(request)
        account_sync(connection=connection)
        holdings = holding_rows(connection=connection)
        return _answer(holdings, "Holdings retrieved successfully")
