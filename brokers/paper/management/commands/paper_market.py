"""Run the paper exchange: advance its market to the wall clock every PAPER_MARKET_INTERVAL_SECONDS."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from brokers.paper import market
from budhitrade.logging import OutageLog

logger = logging.getLogger("budhitrade.paper")
# Logged whole once per run of failures, not every second of an outage.
_step_outage = OutageLog(logger, "paper_market_step_failed")


class Command(BaseCommand):
    help = "Advance the paper market to now, every PAPER_MARKET_INTERVAL_SECONDS (--once: one step)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true")

    def handle(self, *args, once: bool, **options):
        # The first step opens the market where there is none, inside the loop, so a database that is down
        # at start is waited for like one that goes down later.
        self.stdout.write(f"Paper market running (seed {settings.PAPER_SEED}).")
        while True:
            started = time.monotonic()
            try:
                market.market_advance(to=timezone.now())
            except Exception:  # a failed step (database restart) must not end the market; the next one retries
                _step_outage.failed()
                close_old_connections()
            else:
                _step_outage.succeeded()
            if once:
                return
            time.sleep(max(0.0, settings.PAPER_MARKET_INTERVAL_SECONDS - (time.monotonic() - started)))
