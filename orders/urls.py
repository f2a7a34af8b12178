from django.urls import path

from orders import views

urlpatterns = [
    path("accounts/<str:account_id>/orders", views.OrderListCreateView.as_view(), name="order-list"),
    path("accounts/<str:account_id>/orders/<str:order_id>", views.OrderDetailView.as_view(), name="order-detail"),
    path("accounts/<str:account_id>/orders/<str:order_id>/history", views.OrderHistoryView.as_view(),
         name="order-history"),
    path("accounts/<str:account_id>/trades", views.TradeListView.as_view(), name="trade-list"),
    path("accounts/<str:account_id>/batch-orders", views.BatchOrderView.as_view(), name="batch-orders"),
    path("broker/zerodha/postback", views.ZerodhaPostbackView.as_view(), name="zerodha-postback"),
]
