"""Seed 001's orders, reports, quotes and status paths, for "the" account of the user `user_id` names.

Each view reads seed 001's body or query (its words: vocabulary.py), finds
whom and which account it acts on (access.py), and then does what the
unified endpoint does (orders.services, portfolio.services, the market
quotes): the same validation, Idempotency-Key, rate limits and errors. An
order of another account, another user's included, is 404. Answers are seed
001's envelope {"success": true, "message", "data"} around the unified rows,
so an order reads the same here as in GET /accounts/{account_id}/orders.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema

from brokers import selectors as broker_selectors
from brokers.domain import QuoteKind
from brokers.market.quotes import quotes_rendered
from brokers.market.resolve import resolve_instruments
from brokers.serializers import BrokerStatusOutputSerializer
from brokers.views import ACCOUNT_PARAMETERS
from budhitrade.errors import InvalidInput
from compat.kotak_integration import translate
from compat.kotak_integration import vocabulary as words
from compat.kotak_integration.access import account_for, market_account_for
from compat.kotak_integration.envelope import TAG, EnvelopeView, answer
from compat.kotak_integration.serializers import (
    HOLDINGS_OUTPUT,
    ORDER_OUTPUT,
    ORDERS_OUTPUT,
    POSITIONS_OUTPUT,
    QUOTES_OUTPUT,
    STATUS_OUTPUT,
    TRADES_OUTPUT,
    USER_ID_HELP,
    KotakIntegrationCancelInputSerializer,
    KotakIntegrationModifyInputSerializer,
    KotakIntegrationPlaceInputSerializer,
    KotakIntegrationQuotesQuerySerializer,
)
from compat.kotak_service.translate import order_change
from orders import selectors, services
from orders.idempotency import idempotent_run, order_place_under
from orders.views import IDEMPOTENCY_HEADER, REJECTED_OUTPUT, SAVED_ORDER_ERROR
from portfolio.serializers import holding_rows, position_rows
from portfolio.services import account_sync

USER_ID = OpenApiParameter("user_id", str, required=False, description=USER_ID_HELP)
READ_PARAMETERS = [USER_ID, *ACCOUNT_PARAMETERS]


def _body(request) -> dict | None:
    return request.data if isinstance(request.data, dict) else None


def _row(connection, order_id: str) -> dict:
    """The order as the unified order book lists it."""
    return selectors.order_rows(orders=selectors.order_find(connection=connection, order_id=order_id)[:1])[0]


class KotakIntegrationOrderPlaceView(EnvelopeView):
    """POST /api/brokers/kotak/orders/place: seed 001's order body, placed as POST /accounts/{account_id}/orders."""

    @extend_schema(operation_id="kotak_integration_order_place", tags=[TAG],
                   request=KotakIntegrationPlaceInputSerializer,
                   parameters=[IDEMPOTENCY_HEADER, *ACCOUNT_PARAMETERS],
                   responses={200: ORDER_OUTPUT, 400: REJECTED_OUTPUT, 409: SAVED_ORDER_ERROR,
                              429: SAVED_ORDER_ERROR, 502: SAVED_ORDER_ERROR, 503: SAVED_ORDER_ERROR,
                              504: SAVED_ORDER_ERROR})
    def post(self, request):
        connection = account_for(request)
        serializer = KotakIntegrationPlaceInputSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        order_request = translate.order_request(connection=connection, order=serializer.validated_data)

        def place(record):
            try:
                order = order_place_under(record, connection=connection, request=order_request)
            except InvalidInput as error:  # the instrument's rules (lot, tick, listed): in seed 001's names
                raise InvalidInput(error.detail, errors=words.seed_errors(error.errors)) from error
            return answer(_row(connection, order.order_id), "Order placed successfully")

        return idempotent_run(request=request, handler=place)


class KotakIntegrationOrderModifyView(EnvelopeView):
    """POST /api/brokers/kotak/orders/modify: as PATCH /accounts/{account_id}/orders/{order_id}."""

    @extend_schema(operation_id="kotak_integration_order_modify", tags=[TAG],
                   request=KotakIntegrationModifyInputSerializer,
                   parameters=ACCOUNT_PARAMETERS, responses={200: ORDER_OUTPUT, 400: REJECTED_OUTPUT})
    def post(self, request):
        connection = account_for(request)
        serializer = KotakIntegrationModifyInputSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        change = serializer.validated_data["change"]
        if not change:
            raise InvalidInput("Give at least one of quantity, price (not 0) or order_type.")
        order = selectors.order_require(connection=connection, order_id=serializer.validated_data["order_no"])
        order = services.order_modify(order=order, change=order_change(current=order, change=change))
        return answer(_row(connection, order.order_id), "Order modified successfully")


class KotakIntegrationOrderCancelView(EnvelopeView):
    """POST /api/brokers/kotak/orders/cancel: as DELETE /accounts/{account_id}/orders/{order_id}."""

    @extend_schema(operation_id="kotak_integration_order_cancel", tags=[TAG],
                   request=KotakIntegrationCancelInputSerializer,
                   parameters=ACCOUNT_PARAMETERS, responses={200: ORDER_OUTPUT, 400: REJECTED_OUTPUT})
    def post(self, request):
        connection = account_for(request)
        serializer = KotakIntegrationCancelInputSerializer(data=_body(request))
        serializer.is_valid(raise_exception=True)
        order = selectors.order_require(connection=connection, order_id=serializer.validated_data["order_no"].strip())
        order = services.order_cancel(order=order)
        return answer(_row(connection, order.order_id), "Order cancelled successfully")


class KotakIntegrationOrderListView(EnvelopeView):
    """GET /api/brokers/kotak/orders: the account's order book, newest first, rows as the unified order book's."""

    @extend_schema(operation_id="kotak_integration_orders", tags=[TAG], parameters=[
        OpenApiParameter("limit", int, required=False, description="1-1000, default 100"), *READ_PARAMETERS],
        responses={200: ORDERS_OUTPUT})
    def get(self, request):
        connection = account_for(request)
        limit = selectors.limit_parse(query_params=request.query_params, default=100)
        orders = selectors.order_rows(orders=selectors.order_list(connection=connection)[:limit])
        return answer(orders, "Orders retrieved successfully")


class KotakIntegrationTradeListView(EnvelopeView):
    """GET /api/brokers/kotak/trades: the account's fills, newest first, rows as the unified trade book's."""

    @extend_schema(operation_id="kotak_integration_trades", tags=[TAG], parameters=[
        OpenApiParameter("limit", int, required=False, description="1-1000, default 500"), *READ_PARAMETERS],
        responses={200: TRADES_OUTPUT})
    def get(self, request):
        connection = account_for(request)
        limit = selectors.limit_parse(query_params=request.query_params, default=500)
        return answer(selectors.trade_rows(connection=connection, limit=limit), "Trades retrieved successfully")


class KotakIntegrationPositionsView(EnvelopeView):
    """GET /api/brokers/kotak/positions: the account's positions, synced unless younger than
    PORTFOLIO_FRESH_SECONDS."""

    @extend_schema(operation_id="kotak_integration_positions", tags=[TAG], parameters=READ_PARAMETERS,
                   responses={200: POSITIONS_OUTPUT})
    def get(self, request):
        connection = account_for(request)
        account_sync(connection=connection)
        positions = position_rows(connection=connection)
        return answer(positions, "Positions retrieved successfully")


class KotakIntegrationHoldingsView(EnvelopeView):
    """GET /api/brokers/kotak/holdings: the account's holdings, synced unless younger than PORTFOLIO_FRESH_SECONDS."""

    @extend_schema(operation_id="kotak_integration_holdings", tags=[TAG], parameters=READ_PARAMETERS,
                   responses={200: HOLDINGS_OUTPUT})
    def get(self, request):
        connection = account_for(request)
        account_sync(connection=connection)
        holdings = holding_rows(connection=connection)
        return answer(holdings, "Holdings retrieved successfully")


class KotakIntegrationQuotesView(EnvelopeView):
    """GET /api/brokers/kotak/quotes?exchange=&symbol_code=: one instrument's quote, asked of the account's broker
    (or, for a user with no account, the paper market) live, as POST /api/market/quotes answers it."""

    @extend_schema(operation_id="kotak_integration_quotes", tags=[TAG], parameters=[
        KotakIntegrationQuotesQuerySerializer, *READ_PARAMETERS], responses={200: QUOTES_OUTPUT})
    def get(self, request):
        connection = market_account_for(request)
        query = KotakIntegrationQuotesQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        segment, code = query.validated_data["exchange"], query.validated_data["symbol_code"].strip()
        try:
            resolved = resolve_instruments(connection=connection,
                                           items=[{"instrument_token": code, "exchange_segment": segment}])
        except InvalidInput as error:  # an instrument the listing does not have
            raise InvalidInput(error.detail, errors={"symbol_code": [error.detail]}) from error
        data, _ = quotes_rendered(connection=connection, resolved=resolved, kind=QuoteKind.ALL)
        return answer(data, "Quotes retrieved successfully")


class KotakIntegrationStatusView(EnvelopeView):
    """GET /api/brokers/kotak/status: the account's connection status, as GET /broker/status answers it (a
    disconnected account included)."""

    @extend_schema(operation_id="kotak_integration_status", tags=[TAG], parameters=READ_PARAMETERS,
                   responses={200: STATUS_OUTPUT})
    def get(self, request):
        connection = account_for(request, resolve=broker_selectors.connection_status_get)
        status = BrokerStatusOutputSerializer(connection).data | {"is_connected": connection.is_connected}
        return answer(status, "Status retrieved successfully")
