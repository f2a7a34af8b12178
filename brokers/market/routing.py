from django.urls import path

from brokers.market.consumers import MarketConsumer

websocket_urlpatterns = [
    path("ws/market/<str:client_id>", MarketConsumer.as_asgi()),
]
