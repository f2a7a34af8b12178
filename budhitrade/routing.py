"""Every app's WebSocket routes, in one list for asgi.py."""

from brokers.routing import websocket_urlpatterns as broker_routes

websocket_urlpatterns = [*broker_routes]
