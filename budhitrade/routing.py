"""Every app's WebSocket routes, in one list for asgi.py."""

from brokers.market.routing import websocket_urlpatterns as market_routes
from brokers.routing import websocket_urlpatterns as broker_routes
from orders.routing import websocket_urlpatterns as order_routes

websocket_urlpatterns = [*broker_routes, *market_routes, *order_routes]
