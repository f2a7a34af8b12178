from django.urls import path

from orders.consumers import OrderUpdatesConsumer

websocket_urlpatterns = [
    path("ws/orders/<str:account_id>", OrderUpdatesConsumer.as_asgi()),
]
