"""Live connection status for the signed-in user."""

from __future__ import annotations

import json

from channels.generic.websocket import AsyncWebsocketConsumer

# Close code for a refused sign-in (4000-4999 are the application's own).
CLOSE_UNAUTHORIZED = 4401


def connections_group(user_id: int) -> str:
    return f"user-{user_id}-connections"


class ConnectionStatusConsumer(AsyncWebsocketConsumer):
    """Pushes `connection_update` whenever one of the user's connections changes status."""

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        self.group = connections_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "connection", "message": "Connected successfully"}))

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
        except ValueError:
            await self.send(text_data=json.dumps({"type": "error", "message": "Invalid JSON"}))
            return
        if isinstance(message, dict) and message.get("type") == "ping":
            await self.send(text_data=json.dumps({"type": "pong"}))
            return
        await self.send(text_data=json.dumps({"type": "error", "message": "Unknown message type"}))

    async def connection_update(self, event):
        await self.send(text_data=json.dumps(event["payload"]))
