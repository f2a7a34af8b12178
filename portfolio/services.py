"""Syncing an account's portfolio from its broker."""

from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from brokers.adapters.base import BrokerError, BrokerSessionExpired
from brokers.adapters.registry import adapter_for
from brokers.calendar import is_trading_day, session_bounds, session_is_open, trading_day_of
from brokers.domain import ConnectionStatus, Limits, LimitsExchange, LimitsProduct, LimitsSegment, PortfolioSnapshot
from brokers.models import BrokerConnection
from brokers.services import connection_call_wait, connection_expire
from budhitrade.errors import Conflict
from portfolio.models import AccountSync, DailySnapshot, Funds, Holding, Position
from portfolio.selectors import dashboard_totals

logger = logging.getLogger("budhitrade.portfolio")
SYNC_LOCK_SECONDS = 60


def _lock_key(connection: BrokerConnection) -> str:
    return f"portfolio:sync-lock:{connection.pk}"


def _fetch(connection: BrokerConnection) -> PortfolioSnapshot:
    adapter = adapter_for(connection)
    fetched = []
    for call in (adapter.holdings, adapter.positions, adapter.funds):
        connection_call_wait(connection=connection)
        fetched.append(tuple(call()))
    return PortfolioSnapshot(*fetched)


def _money_map(amounts) -> dict[str, str]:
    return {name: str(Decimal(value)) for name, value in amounts.items()}


@transaction.atomic
def _replace_snapshot(*, connection: BrokerConnection, sync: AccountSync, snapshot: PortfolioSnapshot) -> AccountSync:
    Holding.objects.filter(connection=connection).delete()
    Position.objects.filter(connection=connection).delete()
    Funds.objects.filter(connection=connection).delete()
    Holding.objects.bulk_create(Holding(connection=connection, **vars(h)) for h in snapshot.holdings)
    Position.objects.bulk_create(Position(connection=connection, **vars(p)) for p in snapshot.positions)
    Funds.objects.bulk_create(
        Funds(
            connection=connection,
            segment=f.segment,
            enabled=f.enabled,
            net=f.net,
            available=_money_map(f.available),
            utilised=_money_map(f.utilised),
        )
        for f in snapshot.funds
    )
    now = timezone.now()
    sync.synced_at = sync.last_attempt_at = now
    sync.holdings_count = len(snapshot.holdings)
    sync.positions_count = len(snapshot.positions)
    sync.last_error = ""
    sync.save()
    return sync


def _wait_for_other_sync(connection: BrokerConnection) -> None:
    deadline = time.monotonic() + SYNC_LOCK_SECONDS
    while cache.get(_lock_key(connection)) is not None and time.monotonic() < deadline:
        time.sleep(0.02)


def account_sync(*, connection: BrokerConnection, force: bool = False) -> AccountSync:
    """Fetch holdings, positions and funds and replace the stored snapshot in one transaction.

    A fresh snapshot (younger than PORTFOLIO_FRESH_SECONDS) is kept unless
    `force`. Concurrent syncs of one account coalesce: the second waits for
    the first and uses its result. A broker failure keeps the previous
    snapshot whole and records the error.
    """
    if connection.status != ConnectionStatus.CONNECTED:
        raise Conflict(f"This account is not connected (status: {connection.status}); reconnect it first.")
    sync, _ = AccountSync.objects.get_or_create(connection=connection)
    fresh_until = (sync.synced_at or timezone.now() - timedelta(days=1)) + timedelta(
        seconds=settings.PORTFOLIO_FRESH_SECONDS
    )
    if not force and timezone.now() < fresh_until:
        return sync
    if not cache.add(_lock_key(connection), 1, timeout=SYNC_LOCK_SECONDS):
        _wait_for_other_sync(connection)
        sync.refresh_from_db()
        return sync
    try:
        try:
            snapshot = _fetch(connection)
        except BrokerError as error:
            AccountSync.objects.filter(pk=sync.pk).update(last_attempt_at=timezone.now(), last_error=error.detail)
            logger.warning("portfolio_sync_failed", extra={"account_id": connection.account_id, "broker": connection.broker, "reason": error.detail})
            if isinstance(error, BrokerSessionExpired):
                connection_expire(connection=connection, reason=error.detail)
            raise
        sync = _replace_snapshot(connection=connection, sync=sync, snapshot=snapshot)
        logger.info(
            f"{connection.broker}_portfolio_fetched",
            extra={"account_id": connection.account_id, "holdings": sync.holdings_count, "positions": sync.positions_count},
        )
        return sync
    finally:
        cache.delete(_lock_key(connection))


def account_limits(*, connection: BrokerConnection, segment: LimitsSegment, exchange: LimitsExchange,
                   product: LimitsProduct) -> Limits:
    """The broker's limits for one filter, asked live; a session the broker finds expired marks the account."""
    if connection.status != ConnectionStatus.CONNECTED:
        raise Conflict(f"This account is not connected (status: {connection.status}); reconnect it first.")
    connection_call_wait(connection=connection)
    try:
        return adapter_for(connection).limits(segment=segment, exchange=exchange, product=product)
    except BrokerSessionExpired as error:
        connection_expire(connection=connection, reason=error.detail)
        raise


def account_sync_due(*, now: datetime) -> list[str]:
    """Ids of the accounts the market-hours sync should refresh now: every connected one, in session only."""
    if not session_is_open(now):
        return []
    connected = BrokerConnection.objects.filter(status=ConnectionStatus.CONNECTED).exclude(account_id="")
    return [str(pk) for pk in connected.values_list("pk", flat=True)]


@transaction.atomic
def snapshot_take(*, connection: BrokerConnection, day: date) -> DailySnapshot:
    """Record the account's stored portfolio as its snapshot for `day` (replacing one taken earlier that day).

    The same totals the dashboard shows (selectors.dashboard_totals), so history and today agree.
    """
    totals = dashboard_totals(connections=[connection])
    free, blocked, invested = totals["unused_funds"], totals["margin_blocked"], totals["invested"]
    snapshot, _ = DailySnapshot.objects.update_or_create(connection=connection, date=day, defaults={
        "value": free + blocked + totals["holdings_value"],
        "invested": invested,
        "pnl": totals["holdings_pnl"] + totals["positions_pnl"],
        "day_pnl": totals["holdings_day"] + totals["positions_day"],
        "unused_funds": free,
        "allocated_funds": invested + blocked,
    })
    logger.info("portfolio_snapshot_taken", extra={"account_id": connection.account_id, "day": day.isoformat()})
    return snapshot


def account_snapshot(*, connection: BrokerConnection, day: date) -> DailySnapshot:
    """After the close: sync the account from its broker, then record the day's snapshot.

    A failed sync still records a snapshot of the last good portfolio, so the
    history has no holes; the failure stays on the account's sync record.
    """
    try:
        account_sync(connection=connection, force=True)
    except BrokerError:
        pass
    return snapshot_take(connection=connection, day=day)


def account_snapshot_due(*, now: datetime) -> list[str]:
    """Ids of the accounts to snapshot after today's close (none on a non-trading day or before the close)."""
    day = trading_day_of(now)
    if not is_trading_day(day) or now < session_bounds(day)[1]:
        return []
    connected = BrokerConnection.objects.filter(status=ConnectionStatus.CONNECTED).exclude(account_id="")
    return [str(pk) for pk in connected.values_list("pk", flat=True)]
