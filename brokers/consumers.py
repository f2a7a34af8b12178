"""Live connection status for the signed-in user."""

from __future__ import annotations

from budhitrade.consumers import CLOSE_UNAUTHORIZED, JsonConsumer


def connections_group(user_id: int) -> str:
    return f"user-{user_id}-connections"


def orders_group(connection_pk) -> str:
    """The channel group of an account's order and position updates: WS /ws/orders, and a market socket that
    subscribed to the order feed."""
    return f"orders-{connection_pk}"


class ConnectionStatusConsumer(JsonConsumer):
    """Pushes `connection_update` whenever one of the user's connections changes status."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.group = connections_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "connection", "message": "Connected successfully"})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def connection_update(self, event):
        await self.send_json(event["payload"])
