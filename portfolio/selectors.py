"""Reads of stored portfolios; totals are computed here, never stored twice."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from brokers.models import BrokerConnection
from portfolio.models import DailySnapshot, Funds, Holding, Position

ZERO = Value(Decimal("0"))


def account_list(*, user, user_id: int | None = None) -> QuerySet[BrokerConnection]:
    """The user's accounts (staff may name another user) with their totals, in one query."""
    owner = user_id if (user.is_staff and user_id is not None) else user.pk
    accounts = BrokerConnection.objects.exclude(account_id="").filter(user_id=owner)
    positions = Position.objects.filter(connection=OuterRef("pk")).values("connection")
    equity = Funds.objects.filter(connection=OuterRef("pk"), segment="equity")
    return accounts.select_related("user").annotate(
        total_pnl=Coalesce(Subquery(positions.annotate(s=Sum("pnl")).values("s")), ZERO),
        day_pnl=Coalesce(Subquery(positions.annotate(s=Sum("day_pnl")).values("s")), ZERO),
        position_count=Coalesce(Subquery(positions.annotate(c=Count("pk")).values("c")), Value(0)),
        available_margin=Coalesce(Subquery(equity.values("net")[:1]), ZERO),
    ).order_by("created_at")


def holding_list(*, connection: BrokerConnection | None, connections: list[BrokerConnection] | None = None) -> QuerySet[Holding]:
    """One account's holdings, or several accounts' (`connections`)."""
    if connections is not None:
        return Holding.objects.filter(connection__in=connections)
    return Holding.objects.filter(connection=connection)


def position_list(*, connection: BrokerConnection | None, connections: list[BrokerConnection] | None = None) -> QuerySet[Position]:
    """One account's positions, or several accounts' (`connections`)."""
    if connections is not None:
        return Position.objects.filter(connection__in=connections)
    return Position.objects.filter(connection=connection)


def funds_list(*, connection: BrokerConnection, segment: str | None = None) -> QuerySet[Funds]:
    funds = Funds.objects.filter(connection=connection).order_by("segment")
    return funds.filter(segment=segment) if segment else funds


def snapshot_history(*, connections: list[BrokerConnection], days: int = 7) -> list[dict]:
    """The last `days` session-close snapshots, summed over the accounts, oldest first."""
    rows = (DailySnapshot.objects.filter(connection__in=connections).values("date")
            .annotate(value=Sum("value"), pnl=Sum("pnl"), day_pnl=Sum("day_pnl")).order_by("-date")[:days])
    return list(reversed(rows))


def dashboard_totals(*, connections: list[BrokerConnection]) -> dict:
    """Holdings, positions and funds totals over the accounts, one aggregate query each."""
    holdings = Holding.objects.filter(connection__in=connections).aggregate(
        value=Sum(F("last_price") * F("quantity")), invested=Sum(F("average_price") * F("quantity")),
        pnl=Sum("pnl"), day=Sum(F("day_change") * F("quantity")))
    positions = Position.objects.filter(connection__in=connections).aggregate(pnl=Sum("pnl"), day=Sum("day_pnl"))
    free = blocked = Decimal("0")
    for funds in Funds.objects.filter(connection__in=connections).only("net", "utilised"):
        free += funds.net
        blocked += Decimal(funds.utilised.get("debits", "0"))
    zero = Decimal("0")
    return {"holdings_value": holdings["value"] or zero, "invested": holdings["invested"] or zero,
            "holdings_pnl": holdings["pnl"] or zero, "holdings_day": holdings["day"] or zero,
            "positions_pnl": positions["pnl"] or zero, "positions_day": positions["day"] or zero,
            "unused_funds": free, "margin_blocked": blocked}
