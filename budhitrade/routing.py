"""Every app's WebSocket routes, in one list for asgi.py."""

from brokers.routing import websocket_urlpatterns as broker_routes
from orders.routing import websocket_urlpatterns as order_routes

websocket_urlpatterns = [*broker_routes, *order_routes]
