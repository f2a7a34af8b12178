"""Accounts, holdings, positions and funds (seed 004 §1, §2, §4, §5; seed 000's single-account paths; seed 002's limits)."""

from __future__ import annotations

import logging
from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.domain import ConnectionStatus, FundsSegment, LimitsExchange, LimitsProduct, LimitsSegment
from brokers.lookup import broker_from_query, connection_from_request
from brokers.models import BrokerConnection
from brokers.selectors import connection_resolve
from brokers.views import ACCOUNT_PARAMETERS
from budhitrade.errors import InvalidInput, ServiceError
from portfolio import selectors, services
from portfolio.models import AccountSync
from portfolio.serializers import (
    ACCOUNT_DETAIL_OUTPUT,
    ACCOUNT_LIST_OUTPUT,
    FUNDS_OUTPUT,
    HOLDINGS_OUTPUT,
    POSITIONS_OUTPUT,
    SYNC_OUTPUT,
    AccountOutputSerializer,
    HoldingRowSerializer,
    PositionRowSerializer,
    holding_row_totals,
    holding_rows,
    position_row_totals,
    position_rows,
)

logger = logging.getLogger("budhitrade.portfolio")


def account_from_path(request, account_id: str) -> BrokerConnection:
    return connection_resolve(user=request.user, account_id=account_id, broker=broker_from_query(request))


def ensure_synced(connection: BrokerConnection, *, fresh: bool) -> None:
    """Sync when asked to, or when the account has never been synced."""
    if fresh or not AccountSync.objects.filter(connection=connection, synced_at__isnull=False).exists():
        services.account_sync(connection=connection, force=fresh)


def _first_sync(accounts: list[BrokerConnection]) -> bool:
    """Sync each connected account of a listing that was never synced, so its funds show from the start.

    A broker failure leaves that account unsynced (its available margin
    null) rather than failing the listing; the sync records and logs it.
    True when any account was synced.
    """
    synced = False
    for account in accounts:
        if account.synced_at is None and account.status == ConnectionStatus.CONNECTED:
            try:
                services.account_sync(connection=account)
                synced = True
            except ServiceError as error:
                logger.info("portfolio_sync_skipped", extra={"account_id": account.account_id, "reason": error.detail})
    return synced


class BooleanQuery(serializers.Serializer):
    fresh = serializers.BooleanField(required=False, default=False)


class AccountListView(APIView):
    """The user's accounts with totals; staff may filter by ?user_id=."""

    @extend_schema(operation_id="accounts_list", parameters=[OpenApiParameter("user_id", int, required=False)],
                   responses={200: ACCOUNT_LIST_OUTPUT})
    def get(self, request):
        raw = request.query_params.get("user_id")
        if raw is not None and not raw.isdigit():
            raise InvalidInput("user_id must be a number.")
        listing = selectors.account_list(user=request.user, user_id=int(raw) if raw else None)
        accounts = list(listing)
        if _first_sync(accounts):
            accounts = list(listing.all())
        return Response({"status": "success", "count": len(accounts),
                         "accounts": AccountOutputSerializer(accounts, many=True).data})


class AccountDetailView(APIView):
    """One account with its owner's name and totals."""

    @extend_schema(operation_id="accounts_detail", responses={200: ACCOUNT_DETAIL_OUTPUT})
    def get(self, request, account_id):
        connection = account_from_path(request, account_id)
        account = selectors.account_list(user=request.user).get(pk=connection.pk)
        if _first_sync([account]):
            account = selectors.account_list(user=request.user).get(pk=connection.pk)
        body = AccountOutputSerializer(account).data
        return Response({"status": "success", "account": {
            "account_id": body["account_id"], "user_id": body["user_id"], "broker": body["broker"],
            "status": body["status"], "email": account.user.email, "user_name": account.user_name or account.user.get_full_name(),
            "total_pnl": body["total_pnl"], "day_pnl": body["day_pnl"], "prices_missing": body["prices_missing"],
        }})


class SyncInputSerializer(serializers.Serializer):
    force = serializers.BooleanField(required=False, default=False)


class AccountSyncView(APIView):
    """Fetch holdings, positions and funds from the broker now (unless fresh and not forced)."""

    @extend_schema(request=SyncInputSerializer, responses={200: SYNC_OUTPUT})
    def post(self, request, account_id):
        connection = account_from_path(request, account_id)
        serializer = SyncInputSerializer(data=request.data if isinstance(request.data, dict) else None)
        serializer.is_valid(raise_exception=True)
        sync = services.account_sync(connection=connection, force=serializer.validated_data["force"])
        return Response({"status": "success", "synced_at": sync.synced_at, "positions_count": sync.positions_count,
                         "orders_count": sync.orders_count, "holdings_count": sync.holdings_count})


class AccountPositionsView(APIView):
    """Net positions with totals; ?fresh=true syncs from the broker first."""

    @extend_schema(parameters=[OpenApiParameter("fresh", bool, required=False)], responses={200: POSITIONS_OUTPUT})
    def get(self, request, account_id):
        connection = account_from_path(request, account_id)
        query = BooleanQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        ensure_synced(connection, fresh=query.validated_data["fresh"])
        positions = position_rows(connection=connection)
        return Response({"status": "success", "account_id": connection.account_id, "count": len(positions),
                         **position_row_totals(positions), "positions": positions})


class AccountHoldingsView(APIView):
    """Delivery holdings with totals."""

    @extend_schema(responses={200: HOLDINGS_OUTPUT})
    def get(self, request, account_id):
        connection = account_from_path(request, account_id)
        ensure_synced(connection, fresh=False)
        holdings = holding_rows(connection=connection)
        return Response({"status": "success", "account_id": connection.account_id, "count": len(holdings),
                         **holding_row_totals(holdings), "holdings": holdings})


class AccountFundsView(APIView):
    """Funds per segment; ?segment=equity|commodity narrows to one."""

    @extend_schema(parameters=[OpenApiParameter("segment", str, required=False, enum=FundsSegment.values)],
                   responses={200: FUNDS_OUTPUT})
    def get(self, request, account_id):
        connection = account_from_path(request, account_id)
        segment = request.query_params.get("segment") or None
        if segment is not None and segment not in FundsSegment.values:
            raise InvalidInput("segment must be equity or commodity.")
        ensure_synced(connection, fresh=False)
        funds = {
            row.segment: {
                "enabled": row.enabled,
                "net": float(row.net),
                "available": {name: float(Decimal(value)) for name, value in row.available.items()},
                "utilised": {name: float(Decimal(value)) for name, value in row.utilised.items()},
            }
            for row in selectors.funds_list(connection=connection, segment=segment)
        }
        return Response({"status": "success", "account_id": connection.account_id, "funds": funds})


# --- Seed 000's single-account paths: "the" account from X-Account-ID / ?broker= -------------

SUCCESS_ROWS = inline_serializer("SuccessRows", {"success": serializers.BooleanField(),
                                                 "data": serializers.ListField(child=serializers.DictField())})


def _the_account(request) -> BrokerConnection:
    connection = connection_from_request(request)
    ensure_synced(connection, fresh=False)
    return connection


class BrokerHoldingsView(APIView):
    """Seed 000: holdings of "the" account."""

    @extend_schema(parameters=ACCOUNT_PARAMETERS, responses={200: SUCCESS_ROWS})
    def get(self, request):
        holdings = holding_rows(connection=_the_account(request))
        return Response({"success": True, "data": holdings})


class BrokerPositionsView(APIView):
    """Seed 000: positions of "the" account."""

    @extend_schema(parameters=ACCOUNT_PARAMETERS, responses={200: SUCCESS_ROWS})
    def get(self, request):
        positions = position_rows(connection=_the_account(request))
        return Response({"success": True, "data": positions})


class BrokerPortfolioView(APIView):
    """Seed 000: holdings and positions of "the" account together."""

    @extend_schema(parameters=ACCOUNT_PARAMETERS, responses={200: inline_serializer("BrokerPortfolioOutput", {
        "success": serializers.BooleanField(), "holdings": HoldingRowSerializer(many=True),
        "positions": PositionRowSerializer(many=True)})})
    def get(self, request):
        connection = _the_account(request)
        return Response({
            "success": True,
            "holdings": holding_rows(connection=connection),
            "positions": position_rows(connection=connection),
        })


class BrokerLimitsView(APIView):
    """Seed 000: equity limits of "the" account: net, and each available and utilised amount."""

    @extend_schema(parameters=ACCOUNT_PARAMETERS, responses={200: inline_serializer("BrokerLimitsOutput", {
        "success": serializers.BooleanField(), "data": serializers.DictField()})})
    def get(self, request):
        equity = selectors.funds_list(connection=_the_account(request), segment=FundsSegment.EQUITY).first()
        data = {}
        if equity is not None:
            data = {name: float(Decimal(value)) for name, value in {**equity.utilised, **equity.available}.items()}
            data["net"] = float(equity.net)
        return Response({"success": True, "data": data})


# --- Seed 002's limits with filters, live from the broker, for "the" account ----------------

LIMITS_FILTERS = {"segment": LimitsSegment, "exchange": LimitsExchange, "product": LimitsProduct}


def _limits_filters(request) -> dict[str, str]:
    """Each filter from the query, case-insensitive; absent or blank is ALL. Every unknown value is named."""
    filters, errors = {}, {}
    for name, choices in LIMITS_FILTERS.items():
        raw = request.query_params.get(name, "").strip()
        value = raw.upper() or "ALL"
        if value in choices.values:
            filters[name] = choices(value)
        else:
            errors[name] = [f"Unknown {name} {raw!r}; use one of {', '.join(choices.values)}."]
    if errors:
        raise InvalidInput(" ".join(message for messages in errors.values() for message in messages), errors=errors)
    return filters


def _filter_parameter(name: str, choices) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.QUERY, required=False, enum=choices.values, default="ALL",
                            description=f"{choices.__name__} filter (case-insensitive); another value is a 400.")


LIMITS_OUTPUT = inline_serializer("PortfolioLimitsOutput", {
    "success": serializers.BooleanField(),
    "filters": inline_serializer("PortfolioLimitsFilters", {
        "segment": serializers.CharField(help_text="ALL, CASH, CUR or FO"),
        "exchange": serializers.CharField(help_text="ALL, NSE or BSE"),
        "product": serializers.CharField(help_text="ALL, NRML, CNC or MIS"),
    }),
    "data": serializers.DictField(child=serializers.FloatField(), help_text=(
        "Rupees: net (free to trade), cash, collateral and margin_used, then every other amount the broker "
        "names (e.g. span, exposure, option_premium, live_balance).")),
})
LIMITS_ERROR = inline_serializer("PortfolioLimitsError", {
    "detail": serializers.CharField(), "status_code": serializers.IntegerField(),
    "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
})


class PortfolioLimitsView(APIView):
    """Seed 002: trading limits of "the" account for a segment, exchange and product, asked of the broker live.

    Kotak Neo answers each filter itself. Where a broker has no such call,
    limits come from its equity funds, which every exchange and product
    share: ALL, CASH and FO get those amounts, and so does CUR where the
    equity funds also pay for currency (Zerodha); otherwise CUR is zero.
    """

    @extend_schema(
        operation_id="portfolio_limits",
        parameters=[_filter_parameter(name, choices) for name, choices in LIMITS_FILTERS.items()] + ACCOUNT_PARAMETERS,
        responses={200: LIMITS_OUTPUT, 400: LIMITS_ERROR, 404: LIMITS_ERROR, 409: LIMITS_ERROR},
    )
    def get(self, request):
        connection = connection_from_request(request)
        filters = _limits_filters(request)
        limits = services.account_limits(connection=connection, **filters)
        data = {"net": float(limits.net), "cash": float(limits.cash), "collateral": float(limits.collateral),
                "margin_used": float(limits.margin_used)}
        data.update((name, float(amount)) for name, amount in limits.breakdown.items() if name not in data)
        return Response({"success": True, "filters": {name: str(value) for name, value in filters.items()},
                         "data": data})
