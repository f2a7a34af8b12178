from django.urls import path

from brokers.consumers import ConnectionStatusConsumer

websocket_urlpatterns = [
    path("ws/connections", ConnectionStatusConsumer.as_asgi()),
]
