"""Accounts, holdings, positions and funds (seed 004 §1, §2, §4, §5)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F, Sum
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.domain import ConnectionStatus, FundsSegment
from brokers.lookup import broker_from_query, connection_from_request
from brokers.models import BrokerConnection
from brokers.selectors import connection_resolve
from brokers.views import ACCOUNT_PARAMETERS
from budhitrade.errors import InvalidInput
from portfolio import selectors, services
from portfolio.models import AccountSync, Holding, Position

MONEY = {"max_digits": 18, "decimal_places": 2, "coerce_to_string": False}


def account_status(connection: BrokerConnection) -> str:
    """004 calls a connected account "active"; other states keep their connection status."""
    return "active" if connection.status == ConnectionStatus.CONNECTED else connection.status


def account_from_path(request, account_id: str) -> BrokerConnection:
    return connection_resolve(user=request.user, account_id=account_id, broker=broker_from_query(request))


def ensure_synced(connection: BrokerConnection, *, fresh: bool) -> None:
    """Sync when asked to, or when the account has never been synced."""
    if fresh or not AccountSync.objects.filter(connection=connection, synced_at__isnull=False).exists():
        services.account_sync(connection=connection, force=fresh)


class BooleanQuery(serializers.Serializer):
    fresh = serializers.BooleanField(required=False, default=False)


class HoldingOutputSerializer(serializers.ModelSerializer):
    """Money fields come out as JSON numbers (COERCE_DECIMAL_TO_STRING is off)."""

    class Meta:
        model = Holding
        fields = ["tradingsymbol", "exchange", "isin", "quantity", "average_price", "last_price", "close_price",
                  "pnl", "day_change", "product", "collateral_quantity", "collateral_type"]


class PositionOutputSerializer(serializers.ModelSerializer):
    """Money fields come out as JSON numbers."""

    class Meta:
        model = Position
        fields = ["tradingsymbol", "exchange", "product", "quantity", "average_price", "last_price", "close_price",
                  "pnl", "m2m", "day_pnl", "value", "buy_quantity", "buy_price", "sell_quantity", "sell_price",
                  "overnight_quantity", "instrument_token"]


class AccountOutputSerializer(serializers.Serializer):
    account_id = serializers.CharField()
    user_id = serializers.IntegerField()
    broker = serializers.CharField()
    status = serializers.SerializerMethodField()
    total_pnl = serializers.DecimalField(**MONEY)
    day_pnl = serializers.DecimalField(**MONEY)
    position_count = serializers.IntegerField()
    available_margin = serializers.DecimalField(**MONEY)

    def get_status(self, connection) -> str:
        return account_status(connection)


def _envelope(name: str, **fields) -> serializers.Serializer:
    return inline_serializer(name, {"status": serializers.CharField(), **fields})


ACCOUNT_LIST_OUTPUT = _envelope("AccountListOutput", count=serializers.IntegerField(),
                                accounts=AccountOutputSerializer(many=True))
ACCOUNT_DETAIL_OUTPUT = _envelope("AccountDetailOutput", account=inline_serializer("AccountDetail", {
    "account_id": serializers.CharField(), "user_id": serializers.IntegerField(), "broker": serializers.CharField(),
    "status": serializers.CharField(), "email": serializers.CharField(), "user_name": serializers.CharField(),
    "total_pnl": serializers.FloatField(), "day_pnl": serializers.FloatField()}))
SYNC_OUTPUT = _envelope("AccountSyncOutput", synced_at=serializers.DateTimeField(),
                        positions_count=serializers.IntegerField(), orders_count=serializers.IntegerField(),
                        holdings_count=serializers.IntegerField())
POSITIONS_OUTPUT = _envelope("PositionsOutput", account_id=serializers.CharField(), count=serializers.IntegerField(),
                             total_pnl=serializers.FloatField(), day_pnl=serializers.FloatField(),
                             positions=PositionOutputSerializer(many=True))
HOLDINGS_OUTPUT = _envelope("HoldingsOutput", account_id=serializers.CharField(), count=serializers.IntegerField(),
                            total_pnl=serializers.FloatField(), total_value=serializers.FloatField(),
                            holdings=HoldingOutputSerializer(many=True))
FUNDS_OUTPUT = _envelope("FundsOutput", account_id=serializers.CharField(), funds=serializers.DictField(
    help_text="segment -> {enabled, net, available: {name: amount}, utilised: {name: amount}}"))


class AccountListView(APIView):
    """The user's accounts with totals; staff may filter by ?user_id=."""

    @extend_schema(operation_id="accounts_list", parameters=[OpenApiParameter("user_id", int, required=False)],
                   responses={200: ACCOUNT_LIST_OUTPUT})
    def get(self, request):
        raw = request.query_params.get("user_id")
        if raw is not None and not raw.isdigit():
            raise InvalidInput("user_id must be a number.")
        accounts = list(selectors.account_list(user=request.user, user_id=int(raw) if raw else None))
        return Response({"status": "success", "count": len(accounts),
                         "accounts": AccountOutputSerializer(accounts, many=True).data})


class AccountDetailView(APIView):
    """One account with its owner's name and totals."""

    @extend_schema(operation_id="accounts_detail", responses={200: ACCOUNT_DETAIL_OUTPUT})
    def get(self, request, account_id):
        connection = account_from_path(request, account_id)
        account = selectors.account_list(user=request.user).get(pk=connection.pk)
        body = AccountOutputSerializer(account).data
        return Response({"status": "success", "account": {
            "account_id": body["account_id"], "user_id": body["user_id"], "broker": body["broker"],
            "status": body["status"], "email": account.user.email, "user_name": account.user_name or account.user.get_full_name(),
            "total_pnl": body["total_pnl"], "day_pnl": body["day_pnl"],
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
        positions = selectors.position_list(connection=connection)
        totals = positions.aggregate(total_pnl=Sum("pnl"), day_pnl=Sum("day_pnl"))
        rows = PositionOutputSerializer(positions, many=True).data
        return Response({"status": "success", "account_id": connection.account_id, "count": len(rows),
                         "total_pnl": float(totals["total_pnl"] or 0), "day_pnl": float(totals["day_pnl"] or 0),
                         "positions": rows})


class AccountHoldingsView(APIView):
    """Delivery holdings with totals."""

    @extend_schema(responses={200: HOLDINGS_OUTPUT})
    def get(self, request, account_id):
        connection = account_from_path(request, account_id)
        ensure_synced(connection, fresh=False)
        holdings = selectors.holding_list(connection=connection)
        totals = holdings.aggregate(total_pnl=Sum("pnl"), total_value=Sum(F("last_price") * F("quantity")))
        rows = HoldingOutputSerializer(holdings, many=True).data
        return Response({"status": "success", "account_id": connection.account_id, "count": len(rows),
                         "total_pnl": float(totals["total_pnl"] or 0),
                         "total_value": float(round(totals["total_value"] or Decimal(0), 2)),
                         "holdings": rows})


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
        rows = HoldingOutputSerializer(selectors.holding_list(connection=_the_account(request)), many=True).data
        return Response({"success": True, "data": rows})


class BrokerPositionsView(APIView):
    """Seed 000: positions of "the" account."""

    @extend_schema(parameters=ACCOUNT_PARAMETERS, responses={200: SUCCESS_ROWS})
    def get(self, request):
        rows = PositionOutputSerializer(selectors.position_list(connection=_the_account(request)), many=True).data
        return Response({"success": True, "data": rows})


class BrokerPortfolioView(APIView):
    """Seed 000: holdings and positions of "the" account together."""

    @extend_schema(parameters=ACCOUNT_PARAMETERS, responses={200: inline_serializer("BrokerPortfolioOutput", {
        "success": serializers.BooleanField(), "holdings": HoldingOutputSerializer(many=True),
        "positions": PositionOutputSerializer(many=True)})})
    def get(self, request):
        connection = _the_account(request)
        return Response({
            "success": True,
            "holdings": HoldingOutputSerializer(selectors.holding_list(connection=connection), many=True).data,
            "positions": PositionOutputSerializer(selectors.position_list(connection=connection), many=True).data,
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
