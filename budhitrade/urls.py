from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from budhitrade import views

admin.site.site_header = "BudhiTrade administration"
admin.site.site_title = "BudhiTrade administration"

handler400 = "budhitrade.exceptions.handler400"
handler403 = "budhitrade.exceptions.handler403"
handler404 = "budhitrade.exceptions.handler404"
handler500 = "budhitrade.exceptions.handler500"

urlpatterns = [
    path("", views.RootView.as_view(), name="root"),
    path("health", views.HealthView.as_view(), name="health"),
    path("api/auth/register", views.RegisterView.as_view(), name="auth-register"),
    path("api/auth/token", TokenObtainPairView.as_view(), name="auth-token"),
    path("api/auth/token/refresh", TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("api/schema", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("", include("brokers.urls")),
    path("", include("brokers.market.urls")),
    path("", include("portfolio.urls")),
    path("", include("orders.urls")),
    path("", include("compat.kotak_service.urls")),
    path("", include("compat.kotak_integration.urls")),
    path("", include("compat.zerodha_dashboard.urls")),
    path("", include("analytics.urls")),
]
