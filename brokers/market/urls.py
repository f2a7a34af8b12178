from django.urls import path

from brokers.market import sockets, views

urlpatterns = [
    path("api/market/quotes", views.MarketQuotesView.as_view(), name="market-quotes"),
    path("api/market/scrip-master", views.MarketScripMasterView.as_view(), name="market-scrip-master"),
    path("api/market/instruments", views.MarketInstrumentsView.as_view(), name="market-instruments"),
    path("api/websocket/status", sockets.WebsocketStatusView.as_view(), name="websocket-status"),
    path("api/websocket/subscriptions/<str:client_id>", sockets.WebsocketSubscriptionsView.as_view(),
         name="websocket-subscriptions"),
    path("api/websocket/unsubscribe", sockets.WebsocketUnsubscribeView.as_view(), name="websocket-unsubscribe"),
    path("api/websocket/disconnect/<str:client_id>", sockets.WebsocketDisconnectView.as_view(),
         name="websocket-disconnect"),
]
