"""Run the market feed: hold the upstream market streams the web processes' sockets want, publish their ticks."""

from __future__ import annotations

import asyncio

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = ("Hold the market streams (paper market, users' broker sessions) that sockets want and publish each "
            "tick once to Redis; one feed is active, others stand by (MARKET_FEED_LOCK_SECONDS).")

    def handle(self, *args, **options):
        # Kite's ticker runs on Twisted's reactor, in its own thread (brokers/adapters/zerodha/ticker.py).
        from brokers.adapters.zerodha.ticker import install_reactor

        install_reactor()
        from brokers.market.feed import feed_main

        self.stdout.write("Market feed running.")
        asyncio.run(feed_main())
