"""Writes to the stored instrument masters: each real broker's listing, loaded once a day.

Orders are checked against them (unknown instrument, lot size, tick size)
before they reach the broker. A master is loaded through any connected
account of its broker; it is the same for every account.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from brokers.adapters.base import BrokerError, BrokerSessionExpired
from brokers.adapters.registry import ADAPTERS, adapter_for
from brokers.calendar import instrument_listing_day
from brokers.domain import ConnectionStatus
from brokers.models import BrokerConnection, BrokerInstrument, InstrumentMaster
from brokers.selectors import instrument_master_current
from brokers.services import connection_call_wait, connection_expire

logger = logging.getLogger("budhitrade.brokers")
BATCH = 2000
# A listing with fewer than this share of the stored master's instruments is taken for a truncated download.
SMALLEST_SHARE = 0.75
# Connected accounts tried in turn when one cannot load the master (its session expired, say).
ATTEMPTS = 3


def instruments_refresh(*, connection: BrokerConnection, now: datetime | None = None) -> int:
    """Load the broker's instrument master through this account: add and update every instrument, drop the ones
    the broker no longer lists (expired contracts). Returns how many it lists.

    Nothing changes, and 0 is returned, when the broker's files are not yet
    the current day's, when the listing is empty, or when it lists far fewer
    instruments than the stored master (a truncated download).
    """
    adapter = adapter_for(connection)
    connection_call_wait(connection=connection)
    listing = adapter.instruments()
    if listing is None:
        return 0
    now = now or timezone.now()
    listed_on = instrument_listing_day(now)
    broker = connection.broker
    if listing.published_on is not None and listing.published_on < listed_on:
        logger.info("instruments_not_published", extra={"broker": broker, "published_on": str(listing.published_on)})
        return 0
    unique = {(i.exchange, i.tradingsymbol): i for i in listing.instruments}  # the last listing of a symbol wins
    stored = InstrumentMaster.objects.filter(broker=broker).values_list("count", flat=True).first() or 0
    if len(unique) < stored * SMALLEST_SHARE:
        logger.warning("instruments_incomplete", extra={"broker": broker, "count": len(unique), "stored": stored})
        return 0
    instruments = list(unique.values())
    with transaction.atomic():
        for start in range(0, len(instruments), BATCH):  # model rows a batch at a time: a master is ~10^5 rows
            BrokerInstrument.objects.bulk_create(
                [BrokerInstrument(broker=broker, exchange=i.exchange, tradingsymbol=i.tradingsymbol, token=i.token,
                                  name=i.name, instrument_type=i.instrument_type, lot_size=i.lot_size,
                                  tick_size=i.tick_size, expiry=i.expiry, strike=i.strike, listed_on=listed_on)
                 for i in instruments[start:start + BATCH]],
                update_conflicts=True, unique_fields=["broker", "exchange", "tradingsymbol"],
                update_fields=["token", "name", "instrument_type", "lot_size", "tick_size", "expiry", "strike",
                               "listed_on"])
        dropped, _ = BrokerInstrument.objects.filter(broker=broker).exclude(listed_on=listed_on).delete()
        InstrumentMaster.objects.update_or_create(
            broker=broker, defaults={"listed_on": listed_on, "loaded_at": now, "count": len(instruments)})
    logger.info("instruments_loaded", extra={"broker": broker, "count": len(instruments), "dropped": dropped})
    return len(instruments)


def instruments_refresh_due(*, now: datetime | None = None) -> int:
    """For each broker with a master that is not the current one, load it through a connected account, the most
    recently connected first; another is tried only when one fails. Returns how many masters were loaded."""
    now = now or timezone.now()
    loaded = 0
    for broker, adapter in ADAPTERS.items():
        if not adapter.publishes_instruments or instrument_master_current(broker=broker, now=now):
            continue
        candidates = (BrokerConnection.objects.filter(broker=broker, status=ConnectionStatus.CONNECTED)
                      .order_by(F("last_connected_at").desc(nulls_last=True))[:ATTEMPTS])
        for connection in candidates:
            try:
                loaded += bool(instruments_refresh(connection=connection, now=now))
                break
            except BrokerError as error:
                logger.warning("instruments_load_failed", extra={"broker": broker, "account_id": connection.account_id,
                                                                 "reason": error.detail})
                if isinstance(error, BrokerSessionExpired):
                    connection_expire(connection=connection, reason=error.detail)
            except Exception:  # an unreadable master must not stop the other brokers' loads
                logger.exception("instruments_load_failed", extra={"broker": broker,
                                                                   "account_id": connection.account_id})
                break
    return loaded
