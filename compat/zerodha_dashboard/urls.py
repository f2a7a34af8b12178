from django.urls import path

from compat.zerodha_dashboard import views

urlpatterns = [
    path("api/v1/auth/first-time-api-setup", views.ZerodhaDashboardApiSetupView.as_view(),
         name="zerodha-dashboard-api-setup"),
    path("api/v1/dashboard/zerodha/login-url", views.ZerodhaDashboardLoginUrlView.as_view(),
         name="zerodha-dashboard-login-url"),
    path("api/v1/dashboard/activate-brokerage", views.ZerodhaDashboardActivateView.as_view(),
         name="zerodha-dashboard-activate"),
    path("api/v1/dashboard/dashboard", views.ZerodhaDashboardView.as_view(), name="zerodha-dashboard-dashboard"),
]
