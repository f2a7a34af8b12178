from django.urls import path

from compat.kotak_integration import auth_views, views

PREFIX = "api/brokers/kotak/"

urlpatterns = [
    path(f"{PREFIX}login/totp", auth_views.KotakIntegrationTotpLoginView.as_view(),
         name="kotak-integration-login-totp"),
    path(f"{PREFIX}login/mpin", auth_views.KotakIntegrationMpinLoginView.as_view(),
         name="kotak-integration-login-mpin"),
    path(f"{PREFIX}orders/place", views.KotakIntegrationOrderPlaceView.as_view(),
         name="kotak-integration-order-place"),
    path(f"{PREFIX}orders/modify", views.KotakIntegrationOrderModifyView.as_view(),
         name="kotak-integration-order-modify"),
    path(f"{PREFIX}orders/cancel", views.KotakIntegrationOrderCancelView.as_view(),
         name="kotak-integration-order-cancel"),
    path(f"{PREFIX}orders", views.KotakIntegrationOrderListView.as_view(), name="kotak-integration-orders"),
    path(f"{PREFIX}trades", views.KotakIntegrationTradeListView.as_view(), name="kotak-integration-trades"),
    path(f"{PREFIX}positions", views.KotakIntegrationPositionsView.as_view(), name="kotak-integration-positions"),
    path(f"{PREFIX}holdings", views.KotakIntegrationHoldingsView.as_view(), name="kotak-integration-holdings"),
    path(f"{PREFIX}quotes", views.KotakIntegrationQuotesView.as_view(), name="kotak-integration-quotes"),
    path(f"{PREFIX}status", views.KotakIntegrationStatusView.as_view(), name="kotak-integration-status"),
]
