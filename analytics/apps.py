from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """F&O analytics from option-chain and futures snapshots."""

    name = "analytics"
    default_auto_field = "django.db.models.BigAutoField"
