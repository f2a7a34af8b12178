from django.urls import path

from compat.kotak_service import auth_views, views

# "place" and "modify" come before <order_id>: an order id is never either word.
urlpatterns = [
    path("api/auth/totp-login", auth_views.KotakServiceTotpLoginView.as_view(), name="kotak-service-totp-login"),
    path("api/auth/totp-validate", auth_views.KotakServiceTotpValidateView.as_view(),
         name="kotak-service-totp-validate"),
    path("api/auth/logout", auth_views.KotakServiceLogoutView.as_view(), name="kotak-service-logout"),
    path("api/orders", views.KotakServiceOrderListView.as_view(), name="kotak-service-orders"),
    path("api/orders/place", views.KotakServiceOrderPlaceView.as_view(), name="kotak-service-order-place"),
    path("api/orders/modify", views.KotakServiceOrderModifyView.as_view(), name="kotak-service-order-modify"),
    path("api/orders/<str:order_id>", views.KotakServiceOrderCancelView.as_view(), name="kotak-service-order-cancel"),
    path("api/orders/<str:order_id>/history", views.KotakServiceOrderHistoryView.as_view(),
         name="kotak-service-order-history"),
    path("api/trades", views.KotakServiceTradeListView.as_view(), name="kotak-service-trades"),
    path("api/portfolio/positions", views.KotakServicePositionsView.as_view(), name="kotak-service-positions"),
    path("api/portfolio/holdings", views.KotakServiceHoldingsView.as_view(), name="kotak-service-holdings"),
]
