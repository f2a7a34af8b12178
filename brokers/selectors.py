"""Reads of broker connections, always scoped to their owner."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from brokers.calendar import instrument_listing_day
from brokers.domain import Broker, ConnectionStatus, InstrumentSpec
from brokers.models import BrokerConnection, BrokerInstrument, InstrumentMaster
from budhitrade.errors import InvalidInput, NotFound

PENDING = (ConnectionStatus.PENDING_MPIN, ConnectionStatus.PENDING_LOGIN)


def connection_list(*, user) -> QuerySet[BrokerConnection]:
    return BrokerConnection.objects.filter(user=user)


def connection_get(*, user, connection_id) -> BrokerConnection:
    """The user's connection by id; another user's is simply not found."""
    connection = connection_list(user=user).filter(pk=connection_id).first()
    if connection is None:
        raise NotFound("No such broker connection.")
    return connection


def connection_pending_get(*, user, connection_id=None) -> BrokerConnection:
    """The connection a verify step completes: the named one, else the only pending one."""
    if connection_id is not None:
        return connection_get(user=user, connection_id=connection_id)
    pending = list(connection_list(user=user).filter(status__in=PENDING)[:2])
    if not pending:
        raise NotFound("No broker connection is waiting to be verified; start with /broker/connect/initiate.")
    if len(pending) > 1:
        raise InvalidInput("Several connections are waiting to be verified; send connection_id.")
    return pending[0]


def connection_mpin_pending_get(*, user, connection_id=None, first_step: str) -> BrokerConnection:
    """The Kotak Neo login an MPIN completes: the one named, else the user's only one waiting for its MPIN
    (`first_step` is the path that starts one, for the 404's sentence)."""
    if connection_id is not None:
        connection = connection_get(user=user, connection_id=connection_id)
        if connection.broker != Broker.KOTAK_NEO:
            raise InvalidInput("That connection is not a Kotak Neo login; the MPIN completes Kotak Neo only.",
                               errors={"connection_id": ["Not a Kotak Neo login."]})
        return connection
    pending = list(connection_list(user=user)
                   .filter(broker=Broker.KOTAK_NEO, status=ConnectionStatus.PENDING_MPIN)[:2])
    if not pending:
        raise NotFound(f"No Kotak Neo login is waiting for its MPIN; call {first_step} first.")
    if len(pending) > 1:
        raise InvalidInput("Several Kotak Neo logins are waiting for their MPIN; send connection_id.",
                           errors={"connection_id": ["Required when several logins are pending."]})
    return pending[0]


def connection_resolve(
    *, user, account_id: str = "", broker: str = "", connection_id=None
) -> BrokerConnection:
    """"The" account of a request: X-Account-ID, else ?broker=, else the user's only account.

    Among several candidates a connected one wins; if that still leaves more
    than one, the request is ambiguous (400).
    """
    if connection_id:
        return connection_get(user=user, connection_id=connection_id)
    candidates = connection_list(user=user)
    if account_id:
        candidates = candidates.filter(account_id__iexact=account_id.strip())
    else:
        candidates = candidates.exclude(status=ConnectionStatus.DISCONNECTED)
    if broker:
        candidates = candidates.filter(broker=broker)
    found = list(candidates[:50])
    if not found:
        raise NotFound("No such broker account.")
    if len(found) > 1:
        connected = [c for c in found if c.status == ConnectionStatus.CONNECTED]
        if len(connected) == 1:
            return connected[0]
        raise InvalidInput(
            "You have several broker accounts; name one with the X-Account-ID header or ?broker=."
        )
    return found[0]


def connection_status_get(
    *, user, account_id: str = "", broker: str = "", connection_id=None
) -> BrokerConnection:
    """The connection whose status a request asks after: "the" account as connection_resolve finds it,
    else, when the user (for ?broker=, on that broker) has only disconnected ones, the last disconnected.

    A disconnected account is still the user's: its status is an answer ("disconnected"), not a 404.
    Another user's account, or a user with no connection at all, is still not found.
    """
    try:
        return connection_resolve(user=user, account_id=account_id, broker=broker, connection_id=connection_id)
    except NotFound:
        if account_id or connection_id:
            raise
    disconnected = connection_list(user=user).filter(status=ConnectionStatus.DISCONNECTED)
    if broker:
        disconnected = disconnected.filter(broker=broker)
    last = disconnected.order_by("-updated_at").first()
    if last is None:
        raise NotFound("No such broker account.")
    return last


def instrument_master_current(*, broker: str, now: datetime | None = None) -> bool:
    """Whether the broker's stored instrument master is the one published for `now`."""
    listed_on = InstrumentMaster.objects.filter(broker=broker).values_list("listed_on", flat=True).first()
    return listed_on is not None and listed_on >= instrument_listing_day(now or timezone.now())


# Exchanges whose listings change only with the morning master (new equities list before the open);
# derivative exchanges add contracts and strikes during the day, so a symbol missing there is not refused.
CASH_EXCHANGES = ("NSE", "BSE")


def instrument_spec_get(*, broker: str, exchange: str, tradingsymbol: str) -> InstrumentSpec | None:
    """Lot and tick size from the broker's master; None when the master cannot tell: while the stored master
    is not the current one (it lacks the day's new contracts), or for a derivative it does not list."""
    if not instrument_master_current(broker=broker):
        return None
    row = (BrokerInstrument.objects.filter(broker=broker, exchange=exchange, tradingsymbol=tradingsymbol)
           .values("lot_size", "tick_size", "instrument_type").first())
    if row is None:
        return InstrumentSpec(known=False) if exchange in CASH_EXCHANGES else None
    # an index is listed (quotable, streamable) but never ordered
    orderable = row["instrument_type"] != "INDEX"
    return InstrumentSpec(known=True, lot_size=row["lot_size"], tick_size=row["tick_size"], orderable=orderable)
