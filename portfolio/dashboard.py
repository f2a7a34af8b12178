"""Seed 003's dashboard over all the user's accounts, or one."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.calendar import IST
from brokers.domain import ConnectionStatus
from brokers.lookup import connection_from_request
from brokers.models import BrokerConnection
from brokers.views import ACCOUNT_PARAMETERS
from portfolio import selectors
from portfolio.models import AccountSync, Holding, Position
from portfolio.serializers import PRICE_MISSING_HELP, PRICES_MISSING_HELP, position_pnl
from portfolio.views import ensure_synced


def _money(value) -> float:
    return float(round(Decimal(value or 0), 2))


def _money_or_none(value) -> float | None:
    return None if value is None else _money(value)


def _percent(part: Decimal, whole: Decimal) -> float:
    return float(round(part / whole * 100, 2)) if whole else 0.0


DASHBOARD_OUTPUT = inline_serializer("DashboardOutput", {
    "activity_status": inline_serializer("ActivityStatus", {"is_active": serializers.BooleanField(),
                                                            "last_active": serializers.CharField(allow_null=True)}),
    "portfolio_overview": inline_serializer("PortfolioOverview", {
        "value": serializers.FloatField(), "change_percentage": serializers.FloatField(),
        "prices_missing": serializers.IntegerField(help_text=PRICES_MISSING_HELP)}),
    "unused_funds": serializers.FloatField(),
    "allocated_funds": serializers.FloatField(),
    "ongoing_trades": inline_serializer("DashboardTrade", {
        "account_id": serializers.CharField(), "stock": serializers.CharField(), "bought": serializers.FloatField(),
        "quantity": serializers.IntegerField(help_text="Holdings: settled plus T1 shares."),
        "capital_used": serializers.FloatField(),
        "profit": serializers.FloatField(allow_null=True, help_text="Null when the broker gave no price."),
        "price_missing": serializers.BooleanField(help_text=PRICE_MISSING_HELP)}, many=True),
    "recent_trades": inline_serializer("DashboardClosedTrade", {
        "account_id": serializers.CharField(), "stock": serializers.CharField(), "bought": serializers.FloatField(),
        "sold": serializers.FloatField(), "quantity": serializers.IntegerField(),
        "profit": serializers.FloatField(allow_null=True)}, many=True),
    "overall_profit": inline_serializer("OverallProfit", {
        "value": serializers.FloatField(), "percentage": serializers.FloatField(),
        "prices_missing": serializers.IntegerField(help_text=PRICES_MISSING_HELP),
        "last_7_days": inline_serializer("DailyProfit", {"date": serializers.DateField(),
                                                         "value": serializers.FloatField(),
                                                         "profit": serializers.FloatField()}, many=True)}),
})


def _holding_trade(row: Holding) -> dict:
    shares = row.quantity + row.t1_quantity
    return {"account_id": row.connection.account_id, "stock": row.tradingsymbol, "bought": _money(row.average_price),
            "quantity": shares, "capital_used": _money(abs(row.average_price * shares)),
            "profit": _money_or_none(row.pnl), "price_missing": row.price_missing}


def _position_trade(row: Position) -> dict:
    return {"account_id": row.connection.account_id, "stock": row.tradingsymbol, "bought": _money(row.average_price),
            "quantity": row.quantity, "capital_used": _money(abs(row.average_price * row.quantity * row.multiplier)),
            "profit": _money_or_none(row.pnl), "price_missing": row.price_missing}


class DashboardView(APIView):
    """Seed 003's dashboard over all the user's accounts, or one (X-Account-ID / ?broker=).

    value = free funds + margin blocked + holdings at market; allocated =
    holdings at cost + margin blocked; holdings count settled and T1 shares,
    a position's capital is price x quantity x multiplier. Ongoing trades are
    holdings and open positions, recent trades the positions closed today;
    last_7_days comes from the session-close snapshots. A row the broker gave
    no price for says `price_missing` and is left out of value and profit,
    whose `prices_missing` counts such rows.
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
        positions = list(selectors.position_list(connection=None, connections=connections).select_related("connection"))
        ongoing = [_holding_trade(row) for row in holdings]
        ongoing += [_position_trade(row) for row in positions if row.quantity]
        profit = totals["holdings_pnl"] + totals["positions_pnl"]
        last_synced = (AccountSync.objects.filter(connection__in=connections, synced_at__isnull=False)
                       .order_by("-synced_at").values_list("synced_at", flat=True).first())
        return Response({
            "activity_status": {
                "is_active": any(c.status == ConnectionStatus.CONNECTED for c in connections),
                "last_active": last_synced.astimezone(IST).strftime("%b %d, %Y %H:%M:%S") if last_synced else None,
            },
            "portfolio_overview": {"value": _money(value), "change_percentage": _percent(day_pnl, value - day_pnl),
                                   "prices_missing": totals["prices_missing"]},
            "unused_funds": _money(totals["unused_funds"]),
            "allocated_funds": _money(totals["invested"] + totals["margin_blocked"]),
            "ongoing_trades": ongoing,
            "recent_trades": [
                {"account_id": row.connection.account_id, "stock": row.tradingsymbol, "bought": _money(row.buy_price),
                 "sold": _money(row.sell_price), "quantity": row.buy_quantity,
                 "profit": _money_or_none(position_pnl(row.pnl, row.realised, row.quantity))}
                for row in positions if not row.quantity
            ],
            "overall_profit": {
                "value": _money(profit),
                "percentage": _percent(profit, totals["priced_capital"]),  # the rows whose profit is known
                "prices_missing": totals["prices_missing"],
                "last_7_days": [{"date": row["date"], "value": _money(row["value"]), "profit": _money(row["day_pnl"])}
                                for row in selectors.snapshot_history(connections=connections)],
            },
        })
