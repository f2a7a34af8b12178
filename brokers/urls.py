from django.urls import path

from brokers import views

urlpatterns = [
    path("broker/connect/initiate", views.ConnectInitiateView.as_view(), name="broker-connect-initiate"),
    path("broker/connect/verify", views.ConnectVerifyView.as_view(), name="broker-connect-verify"),
    path("broker/zerodha/callback", views.ZerodhaCallbackView.as_view(), name="broker-zerodha-callback"),
    path("broker/status", views.BrokerStatusView.as_view(), name="broker-status"),
    path("broker/disconnect", views.BrokerDisconnectView.as_view(), name="broker-disconnect"),
    path("api/auth/qr-link", views.RetiredKotakLoginView.as_view(), name="kotak-qr-link"),
    path("api/auth/qr-session", views.RetiredKotakLoginView.as_view(), name="kotak-qr-session"),
]
