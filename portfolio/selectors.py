"""Reads of stored portfolios; totals are computed here, never stored twice."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from brokers.models import BrokerConnection
from portfolio.models import Funds, Holding, Position

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


def holding_list(*, connection: BrokerConnection) -> QuerySet[Holding]:
    return Holding.objects.filter(connection=connection)


def position_list(*, connection: BrokerConnection) -> QuerySet[Position]:
    return Position.objects.filter(connection=connection)


def funds_list(*, connection: BrokerConnection, segment: str | None = None) -> QuerySet[Funds]:
    funds = Funds.objects.filter(connection=connection).order_by("segment")
    return funds.filter(segment=segment) if segment else funds
