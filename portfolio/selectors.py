"""Reads of stored portfolios; totals are computed here, never stored twice."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from brokers.models import BrokerConnection
from portfolio.models import AccountSync, DailySnapshot, Funds, Holding, Position

ZERO = Value(Decimal("0"))
MONEY_FIELD = DecimalField(max_digits=18, decimal_places=4)
# A row the broker gave no price for: never valued at 0, left out of the totals and counted apart.
PRICE_MISSING = Q(last_price__isnull=True)
PRICED = Q(last_price__isnull=False)
# A closed position needs no price: its P&L is what it realised.
POSITION_PRICE_MISSING = PRICE_MISSING & ~Q(quantity=0)
# Shares a holding's value and cost cover: settled plus bought on the previous session (the broker's P&L covers both).
HOLDING_SHARES = F("quantity") + F("t1_quantity")
# A position's P&L: the broker's, or for a closed one without a price its realised P&L (nothing is open to price).
POSITION_PNL = Coalesce(F("pnl"), Case(When(quantity=0, then=F("realised")), output_field=MONEY_FIELD))


def condition_flag(condition: Q) -> ExpressionWrapper:
    """A condition as a boolean column of each row."""
    return ExpressionWrapper(condition, output_field=BooleanField())


def account_list(*, user, user_id: int | None = None) -> QuerySet[BrokerConnection]:
    """The user's accounts (staff may name another user) with their totals, in one query.

    `prices_missing` counts positions the broker gave no price for (left out
    of the P&L totals); `available_margin` is None until the account's first
    sync brought its funds.
    """
    owner = user_id if (user.is_staff and user_id is not None) else user.pk
    accounts = BrokerConnection.objects.exclude(account_id="").filter(user_id=owner)
    positions = Position.objects.filter(connection=OuterRef("pk")).values("connection")
    equity = Funds.objects.filter(connection=OuterRef("pk"), segment="equity")
    synced_at = AccountSync.objects.filter(connection=OuterRef("pk")).values("synced_at")[:1]
    return accounts.select_related("user").annotate(
        total_pnl=Coalesce(Subquery(positions.annotate(s=Sum(POSITION_PNL)).values("s")), ZERO),
        day_pnl=Coalesce(Subquery(positions.annotate(s=Sum("day_pnl")).values("s")), ZERO),
        position_count=Coalesce(Subquery(positions.annotate(c=Count("pk")).values("c")), Value(0)),
        prices_missing=Coalesce(Subquery(positions.annotate(c=Count("pk", filter=POSITION_PRICE_MISSING)).values("c")),
                                Value(0)),
        synced_at=Subquery(synced_at),
        available_margin=Case(When(synced_at__isnull=True, then=Value(None)),
                              default=Coalesce(Subquery(equity.values("net")[:1]), ZERO), output_field=MONEY_FIELD),
    ).order_by("created_at")


def holding_list(*, connection: BrokerConnection | None, connections: list[BrokerConnection] | None = None) -> QuerySet[Holding]:
    """One account's holdings, or several accounts' (`connections`), each with `price_missing`."""
    holdings = Holding.objects.filter(connection__in=connections) if connections is not None else Holding.objects.filter(connection=connection)
    return holdings.annotate(price_missing=condition_flag(PRICE_MISSING))


def position_list(*, connection: BrokerConnection | None, connections: list[BrokerConnection] | None = None) -> QuerySet[Position]:
    """One account's positions, or several accounts' (`connections`), each with `price_missing` (an open
    position the broker gave no price for)."""
    positions = Position.objects.filter(connection__in=connections) if connections is not None else Position.objects.filter(connection=connection)
    return positions.annotate(price_missing=condition_flag(POSITION_PRICE_MISSING))


def holding_totals(*, holdings: QuerySet[Holding]) -> dict:
    """Value (priced rows, over quantity + t1_quantity), cost, P&L and day change of holdings, in one query."""
    totals = holdings.aggregate(
        value=Sum(F("last_price") * HOLDING_SHARES, filter=PRICED),
        invested=Sum(F("average_price") * HOLDING_SHARES),
        invested_priced=Sum(F("average_price") * HOLDING_SHARES, filter=PRICED),
        pnl=Sum("pnl"), day=Sum(F("day_change") * HOLDING_SHARES),
        prices_missing=Count("pk", filter=PRICE_MISSING))
    return {name: amount if amount is not None else Decimal("0") for name, amount in totals.items()}


def position_totals(*, positions: QuerySet[Position]) -> dict:
    """P&L, day P&L and capital (average price x quantity x multiplier) of positions, in one query."""
    capital = Case(When(quantity__lt=0, then=-F("average_price") * F("quantity") * F("multiplier")),
                   default=F("average_price") * F("quantity") * F("multiplier"), output_field=MONEY_FIELD)
    totals = positions.aggregate(
        pnl=Sum(POSITION_PNL), day=Sum("day_pnl"),
        capital=Sum(capital), capital_priced=Sum(capital, filter=~POSITION_PRICE_MISSING),
        prices_missing=Count("pk", filter=POSITION_PRICE_MISSING))
    return {name: amount if amount is not None else Decimal("0") for name, amount in totals.items()}


def funds_list(*, connection: BrokerConnection, segment: str | None = None) -> QuerySet[Funds]:
    funds = Funds.objects.filter(connection=connection).order_by("segment")
    return funds.filter(segment=segment) if segment else funds


def snapshot_history(*, connections: list[BrokerConnection], days: int = 7) -> list[dict]:
    """The last `days` session-close snapshots, summed over the accounts, oldest first."""
    rows = (DailySnapshot.objects.filter(connection__in=connections).values("date")
            .annotate(value=Sum("value"), pnl=Sum("pnl"), day_pnl=Sum("day_pnl")).order_by("-date")[:days])
    return list(reversed(rows))


def dashboard_totals(*, connections: list[BrokerConnection]) -> dict:
    """Holdings, positions and funds totals over the accounts, one aggregate query each.

    A holding or open position without a price is left out of value, P&L and
    day change (never valued at 0) and counted in `prices_missing`; `priced_capital` is the capital of the
    rows whose P&L is known, what a profit percentage is over.
    """
    holdings = holding_totals(holdings=Holding.objects.filter(connection__in=connections))
    positions = position_totals(positions=Position.objects.filter(connection__in=connections))
    free = blocked = Decimal("0")
    for funds in Funds.objects.filter(connection__in=connections).only("net", "utilised"):
        free += funds.net
        blocked += Decimal(funds.utilised.get("debits", "0"))
    return {"holdings_value": holdings["value"], "invested": holdings["invested"],
            "holdings_pnl": holdings["pnl"], "holdings_day": holdings["day"],
            "positions_pnl": positions["pnl"], "positions_day": positions["day"],
            "positions_capital": positions["capital"],
            "priced_capital": holdings["invested_priced"] + positions["capital_priced"],
            "prices_missing": holdings["prices_missing"] + positions["prices_missing"],
            "unused_funds": free, "margin_blocked": blocked}
