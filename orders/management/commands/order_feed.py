"""Hold the broker stream of every connected account whose broker streams order updates, and apply each push."""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from django.core.management.base import BaseCommand

from brokers.adapters.base import BrokerError
from brokers.adapters.registry import ADAPTERS, adapter_for
from brokers.domain import ConnectionStatus
from brokers.models import BrokerConnection
from brokers.pushes import PushSource
from orders.pushes import push_receive

logger = logging.getLogger("budhitrade.orders")
RESCAN_SECONDS = 15
RETRY_SECONDS = 10


async def feed_account(connection: BrokerConnection) -> None:
    """Apply one account's pushes until its stream ends (the broker gave up, or the session ended)."""
    async for push in adapter_for(connection).pushes():
        await database_sync_to_async(push_receive)(connection=connection, push=push, source=PushSource.FEED)


def streaming_brokers() -> list[str]:
    """The brokers whose adapters stream order updates."""
    return [broker for broker, adapter in ADAPTERS.items() if adapter.streams_order_updates]


@database_sync_to_async
def _feed_accounts() -> list[BrokerConnection]:
    return list(BrokerConnection.objects.filter(broker__in=streaming_brokers(), status=ConnectionStatus.CONNECTED)
                .exclude(account_id=""))


async def _keep_feeding(connection: BrokerConnection) -> None:
    while True:
        try:
            await feed_account(connection)
        except BrokerError as error:
            logger.warning("order_feed_failed", extra={"account_id": connection.account_id, "reason": error.detail})
        except Exception:  # anything else is logged whole, and the feed is tried again like any failure
            logger.exception("order_feed_failed", extra={"account_id": connection.account_id})
        await asyncio.sleep(RETRY_SECONDS)
        fresh = await database_sync_to_async(BrokerConnection.objects.filter(pk=connection.pk).first)()
        if fresh is None or fresh.status != ConnectionStatus.CONNECTED:
            return
        connection = fresh


async def run() -> None:
    feeds: dict[str, asyncio.Task] = {}
    while True:
        try:
            accounts = await _feed_accounts()
        except Exception:  # the database is away: running feeds go on, and the next rescan looks again
            logger.warning("order_feed_rescan_failed", exc_info=True)
            accounts = []
        for connection in accounts:
            key = str(connection.pk)
            if key not in feeds or feeds[key].done():
                feeds[key] = asyncio.create_task(_keep_feeding(connection))
                logger.info("order_feed_started", extra={"account_id": connection.account_id})
        await asyncio.sleep(RESCAN_SECONDS)


class Command(BaseCommand):
    help = "Apply the order-feed updates of every connected account whose broker streams them (reconnecting as needed)."

    def handle(self, *args, **options):
        self.stdout.write("Order feed running.")
        asyncio.run(run())
