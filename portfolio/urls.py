from django.urls import path

from portfolio import dashboard, views

urlpatterns = [
    path("broker/portfolio", views.BrokerPortfolioView.as_view(), name="broker-portfolio"),
    path("broker/portfolio/holdings", views.BrokerHoldingsView.as_view(), name="broker-portfolio-holdings"),
    path("broker/portfolio/positions", views.BrokerPositionsView.as_view(), name="broker-portfolio-positions"),
    path("broker/limits", views.BrokerLimitsView.as_view(), name="broker-limits"),
    path("api/portfolio/limits", views.PortfolioLimitsView.as_view(), name="portfolio-limits"),
    path("dashboard", dashboard.DashboardView.as_view(), name="dashboard"),
    path("accounts", views.AccountListView.as_view(), name="account-list"),
    path("accounts/<str:account_id>", views.AccountDetailView.as_view(), name="account-detail"),
    path("accounts/<str:account_id>/sync", views.AccountSyncView.as_view(), name="account-sync"),
    path("accounts/<str:account_id>/positions", views.AccountPositionsView.as_view(), name="account-positions"),
    path("accounts/<str:account_id>/holdings", views.AccountHoldingsView.as_view(), name="account-holdings"),
    path("accounts/<str:account_id>/funds", views.AccountFundsView.as_view(), name="account-funds"),
]
