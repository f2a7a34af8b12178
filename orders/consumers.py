"""Seed 004 §6: live order and position updates for one account."""

from __future__ import annotations

from channels.db import database_sync_to_async

from brokers.consumers import orders_group
from brokers.models import BrokerConnection
from budhitrade.consumers import CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, JsonConsumer


@database_sync_to_async
def _own_account(user, account_id: str) -> BrokerConnection | None:
    return BrokerConnection.objects.filter(user=user, account_id__iexact=account_id).exclude(account_id="").first()


class OrderUpdatesConsumer(JsonConsumer):
    """`order_update` and `position_update` for /ws/orders/{account_id}?token=; `ping` -> `pong`."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        connection = await _own_account(user, self.scope["url_route"]["kwargs"]["account_id"])
        if connection is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.account_id = connection.account_id
        self.group = orders_group(connection.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "connection", "account_id": self.account_id,
                              "message": "Connected successfully"})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def order_event(self, event):
        await self.send_json(event["payload"])
