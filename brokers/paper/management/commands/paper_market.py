"""Run the paper exchange: advance its market to the wall clock every PAPER_MARKET_INTERVAL_SECONDS."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from brokers.paper import market

logger = logging.getLogger("budhitrade.paper")


class Command(BaseCommand):
    help = "Advance the paper market to now, every PAPER_MARKET_INTERVAL_SECONDS (--once: one step)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true")

    def handle(self, *args, once: bool, **options):
        market.market_get()
        self.stdout.write(f"Paper market running (seed {settings.PAPER_SEED}).")
        while True:
            started = time.monotonic()
            try:
                market.market_advance(to=timezone.now())
            except Exception:  # a failed step (database restart) must not end the market; the next one retries
                logger.exception("paper_market_step_failed")
                close_old_connections()
            if once:
                return
            time.sleep(max(0.0, settings.PAPER_MARKET_INTERVAL_SECONDS - (time.monotonic() - started)))
