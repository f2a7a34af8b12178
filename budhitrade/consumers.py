"""What every WebSocket consumer shares: JSON messages, ping -> pong, a clear error for anything else."""

from __future__ import annotations

import json

from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone

# Close codes (4000-4999 are the application's own).
CLOSE_UNAUTHORIZED = 4401  # no valid JWT
CLOSE_FORBIDDEN = 4403  # the JWT is valid, the thing asked for is not the user's (or does not exist)


class JsonConsumer(AsyncWebsocketConsumer):
    """Answers `{"type": "ping"}` with a pong; bad JSON or an unknown message gets an `error` and the socket stays open."""

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
        except ValueError:
            await self.send_json({"type": "error", "message": "Invalid JSON"})
            return
        if not isinstance(message, dict):
            await self.send_json({"type": "error", "message": "Send a JSON object"})
        elif message.get("type") == "ping":
            await self.send_json({"type": "pong", "timestamp": timezone.now().isoformat()})
        else:
            await self.receive_message(message)

    async def receive_message(self, message: dict) -> None:
        """A message other than ping; by default an error."""
        await self.send_json({"type": "error", "message": "Unknown message type; send {\"type\": \"ping\"}"})

    async def send_json(self, payload: dict) -> None:
        await self.send(text_data=json.dumps(payload))
