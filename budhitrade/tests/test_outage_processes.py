"""Long-running processes through an outage: they stay up by themselves, and compose restarts any that exits."""

import asyncio
from pathlib import Path

import yaml
from django.db import OperationalError

from orders.management.commands import order_feed

REPO = Path(__file__).resolve().parent.parent.parent


async def test_the_order_feed_keeps_rescanning_while_the_database_is_away(monkeypatch):
    rescans = []

    async def feed_accounts():
        rescans.append(len(rescans))
        if len(rescans) <= 2:
            raise OperationalError("server closed the connection unexpectedly")
        return []

    monkeypatch.setattr(order_feed, "_feed_accounts", feed_accounts)
    monkeypatch.setattr(order_feed, "RESCAN_SECONDS", 0.01)
    feed = asyncio.create_task(order_feed.run())
    try:
        for _ in range(500):
            if len(rescans) >= 4 or feed.done():
                break
            await asyncio.sleep(0.01)
        assert not feed.done(), feed.exception()
        assert len(rescans) >= 4  # two failed rescans, then it carried on
    finally:
        feed.cancel()


def test_every_long_running_compose_service_restarts_by_itself():
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]

    policies = {name: service.get("restart") for name, service in services.items()}

    assert policies.pop("migrate") == "on-failure"  # runs once per release, retried until the database takes it
    assert set(policies) == {"postgres", "redis", "web", "worker", "beat", "market", "orderfeed", "marketfeed"}
    assert set(policies.values()) == {"unless-stopped"}
