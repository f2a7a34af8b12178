from django.urls import path

from analytics import futures_views, option_views

urlpatterns = [
    path("fo/strike-distribution", option_views.StrikeDistributionView.as_view(), name="fo-strike-distribution"),
    path("fo/moneyness-series", option_views.MoneynessSeriesView.as_view(), name="fo-moneyness-series"),
    path("fo/chain-summary", option_views.ChainSummaryView.as_view(), name="fo-chain-summary"),
    path("fo/straddle-series", option_views.StraddleSeriesView.as_view(), name="fo-straddle-series"),
    path("futures/position-signals", futures_views.PositionSignalsView.as_view(), name="futures-position-signals"),
    path("futures/rollover-metrics", futures_views.RolloverMetricsView.as_view(), name="futures-rollover-metrics"),
]
