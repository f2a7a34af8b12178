"""Listen to every connected Kotak Neo account's order feed and apply each update as it arrives."""

from __future__ import annotations

import asyncio
import logging

from channels.db import database_sync_to_async
from django.core.management.base import BaseCommand

from brokers.adapters.base import BrokerError
from brokers.adapters.registry import adapter_for
from brokers.domain import Broker, ConnectionStatus
from brokers.models import BrokerConnection
from orders import services

logger = logging.getLogger("budhitrade.orders")
RESCAN_SECONDS = 15
RETRY_SECONDS = 10


async def feed_account(connection: BrokerConnection) -> None:
    """Apply one account's order feed until the feed ends (the broker gave up, or the session ended)."""
    async for progress in adapter_for(connection).order_updates():
        await database_sync_to_async(services.order_progress_apply)(connection=connection, progress=progress)


@database_sync_to_async
def _feed_accounts() -> list[BrokerConnection]:
    return list(BrokerConnection.objects.filter(broker=Broker.KOTAK_NEO, status=ConnectionStatus.CONNECTED)
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
        for connection in await _feed_accounts():
            key = str(connection.pk)
            if key not in feeds or feeds[key].done():
                feeds[key] = asyncio.create_task(_keep_feeding(connection))
                logger.info("order_feed_started", extra={"account_id": connection.account_id})
        await asyncio.sleep(RESCAN_SECONDS)


class Command(BaseCommand):
    help = "Apply Kotak Neo order-feed updates for every connected account (reconnecting as needed)."

    def handle(self, *args, **options):
        self.stdout.write("Order feed running.")
        asyncio.run(run())
