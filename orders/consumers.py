"""Seed 004 §6: live order and position updates for one account."""

from __future__ import annotations

import json

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

from brokers.consumers import CLOSE_UNAUTHORIZED
from brokers.models import BrokerConnection
from orders.services import orders_group

# The account is not the signed-in user's (or does not exist): never say which.
CLOSE_FORBIDDEN = 4403


@database_sync_to_async
def _own_account(user, account_id: str) -> BrokerConnection | None:
    return BrokerConnection.objects.filter(user=user, account_id__iexact=account_id).exclude(account_id="").first()


class OrderUpdatesConsumer(AsyncWebsocketConsumer):
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
        await self.send(text_data=json.dumps({"type": "connection", "account_id": self.account_id,
                                              "message": "Connected successfully"}))

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
        except ValueError:
            await self._send({"type": "error", "message": "Invalid JSON"})
            return
        if isinstance(message, dict) and message.get("type") == "ping":
            await self._send({"type": "pong", "timestamp": timezone.now().isoformat()})
            return
        await self._send({"type": "error", "message": "Unknown message type; send {\"type\": \"ping\"}"})

    async def order_event(self, event):
        await self._send(event["payload"])

    async def _send(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload))
