"""Accounts, holdings, positions and funds (seed 004 §1, §2, §4, §5)."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.calendar import IST
from brokers.domain import ConnectionStatus, FundsSegment, LimitsExchange, LimitsProduct, LimitsSegment
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


def _rows(queryset, serializer_class) -> list[dict]:
    """The serializer's fields straight from the database: rows of 200 positions cost a tenth of serializing
    model instances (bench/README.md). Decimals render as JSON numbers (COERCE_DECIMAL_TO_STRING is off)."""
    return list(queryset.values(*serializer_class.Meta.fields))


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
        rows = _rows(selectors.position_list(connection=connection), PositionOutputSerializer)
        return Response({"status": "success", "account_id": connection.account_id, "count": len(rows),
                         "total_pnl": float(sum((row["pnl"] for row in rows), Decimal(0))),
                         "day_pnl": float(sum((row["day_pnl"] for row in rows), Decimal(0))),
                         "positions": rows})


class AccountHoldingsView(APIView):
    """Delivery holdings with totals."""

    @extend_schema(responses={200: HOLDINGS_OUTPUT})
    def get(self, request, account_id):
        connection = account_from_path(request, account_id)
        ensure_synced(connection, fresh=False)
        rows = _rows(selectors.holding_list(connection=connection), HoldingOutputSerializer)
        return Response({"status": "success", "account_id": connection.account_id, "count": len(rows),
                         "total_pnl": float(sum((row["pnl"] for row in rows), Decimal(0))),
                         "total_value": float(round(sum((row["last_price"] * row["quantity"] for row in rows),
                                                        Decimal(0)), 2)),
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


# --- Seed 003's dashboard -----------------------------------------------------------------------

def _money(value) -> float:
    return float(round(Decimal(value or 0), 2))


def _percent(part: Decimal, whole: Decimal) -> float:
    return float(round(part / whole * 100, 2)) if whole else 0.0


DASHBOARD_OUTPUT = inline_serializer("DashboardOutput", {
    "activity_status": inline_serializer("ActivityStatus", {"is_active": serializers.BooleanField(),
                                                            "last_active": serializers.CharField(allow_null=True)}),
    "portfolio_overview": inline_serializer("PortfolioOverview", {"value": serializers.FloatField(),
                                                                  "change_percentage": serializers.FloatField()}),
    "unused_funds": serializers.FloatField(),
    "allocated_funds": serializers.FloatField(),
    "ongoing_trades": inline_serializer("DashboardTrade", {
        "account_id": serializers.CharField(), "stock": serializers.CharField(), "bought": serializers.FloatField(),
        "quantity": serializers.IntegerField(), "capital_used": serializers.FloatField(),
        "profit": serializers.FloatField()}, many=True),
    "recent_trades": inline_serializer("DashboardClosedTrade", {
        "account_id": serializers.CharField(), "stock": serializers.CharField(), "bought": serializers.FloatField(),
        "sold": serializers.FloatField(), "quantity": serializers.IntegerField(),
        "profit": serializers.FloatField()}, many=True),
    "overall_profit": inline_serializer("OverallProfit", {
        "value": serializers.FloatField(), "percentage": serializers.FloatField(),
        "last_7_days": inline_serializer("DailyProfit", {"date": serializers.DateField(),
                                                         "value": serializers.FloatField(),
                                                         "profit": serializers.FloatField()}, many=True)}),
})


class DashboardView(APIView):
    """Seed 003's dashboard over all the user's accounts, or one (X-Account-ID / ?broker=).

    value = free funds + margin blocked + holdings at market; allocated =
    holdings at cost + margin blocked; ongoing trades are holdings and open
    positions, recent trades the positions closed today; last_7_days comes
    from the session-close snapshots.
    """

    @extend_schema(parameters=ACCOUNT_PARAMETERS, responses={200: DASHBOARD_OUTPUT})
    def get(self, request):
        if request.headers.get("X-Account-ID") or request.query_params.get("broker") or request.query_params.get("connection_id"):
            connections = [connection_from_request(request)]
        else:
            connections = list(BrokerConnection.objects.filter(user=request.user).exclude(account_id=""))
        for connection in connections:
            if connection.status == ConnectionStatus.CONNECTED:
                ensure_synced(connection, fresh=False)
        totals = selectors.dashboard_totals(connections=connections)
        day_pnl = totals["holdings_day"] + totals["positions_day"]
        value = totals["unused_funds"] + totals["margin_blocked"] + totals["holdings_value"]
        holdings = selectors.holding_list(connection=None, connections=connections).select_related("connection")
        positions = selectors.position_list(connection=None, connections=connections).select_related("connection")
        ongoing = [self._trade(row.connection, row.tradingsymbol, row.average_price, row.quantity, row.pnl)
                   for row in holdings]
        ongoing += [self._trade(row.connection, row.tradingsymbol, row.average_price, row.quantity, row.pnl)
                    for row in positions if row.quantity]
        capital = totals["invested"] + sum((abs(row.average_price * row.quantity) for row in positions if row.quantity), Decimal(0))
        profit = totals["holdings_pnl"] + totals["positions_pnl"]
        last_synced = (AccountSync.objects.filter(connection__in=connections, synced_at__isnull=False)
                       .order_by("-synced_at").values_list("synced_at", flat=True).first())
        return Response({
            "activity_status": {
                "is_active": any(c.status == ConnectionStatus.CONNECTED for c in connections),
                "last_active": last_synced.astimezone(IST).strftime("%b %d, %Y %H:%M:%S") if last_synced else None,
            },
            "portfolio_overview": {"value": _money(value), "change_percentage": _percent(day_pnl, value - day_pnl)},
            "unused_funds": _money(totals["unused_funds"]),
            "allocated_funds": _money(totals["invested"] + totals["margin_blocked"]),
            "ongoing_trades": ongoing,
            "recent_trades": [
                {"account_id": row.connection.account_id, "stock": row.tradingsymbol, "bought": _money(row.buy_price),
                 "sold": _money(row.sell_price), "quantity": row.buy_quantity, "profit": _money(row.pnl)}
                for row in positions if not row.quantity
            ],
            "overall_profit": {
                "value": _money(profit),
                "percentage": _percent(profit, capital),
                "last_7_days": [{"date": row["date"], "value": _money(row["value"]), "profit": _money(row["day_pnl"])}
                                for row in selectors.snapshot_history(connections=connections)],
            },
        })

    @staticmethod
    def _trade(connection, symbol: str, average: Decimal, quantity: int, pnl: Decimal) -> dict:
        return {"account_id": connection.account_id, "stock": symbol, "bought": _money(average), "quantity": quantity,
                "capital_used": _money(abs(average * quantity)), "profit": _money(pnl)}


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
        rows = _rows(selectors.holding_list(connection=_the_account(request)), HoldingOutputSerializer)
        return Response({"success": True, "data": rows})


class BrokerPositionsView(APIView):
    """Seed 000: positions of "the" account."""

    @extend_schema(parameters=ACCOUNT_PARAMETERS, responses={200: SUCCESS_ROWS})
    def get(self, request):
        rows = _rows(selectors.position_list(connection=_the_account(request)), PositionOutputSerializer)
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
            "holdings": _rows(selectors.holding_list(connection=connection), HoldingOutputSerializer),
            "positions": _rows(selectors.position_list(connection=connection), PositionOutputSerializer),
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
