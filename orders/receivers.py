"""Pushes that an exchange inside BudhiTrade announces (the paper exchange's): into the one way in."""

from __future__ import annotations

from django.dispatch import receiver

from brokers.pushes import PushSource, broker_pushed
from orders import pushes


@receiver(broker_pushed, dispatch_uid="orders-broker-pushed")
def broker_push_announced(sender, account_id: str, push, **kwargs) -> None:
    """Each connection of the announcing broker's account takes the push, as a posted or streamed one is taken."""
    for connection in pushes.account_connections(broker=sender, account_id=account_id):
        pushes.push_receive(connection=connection, push=push, source=PushSource.EXCHANGE)
