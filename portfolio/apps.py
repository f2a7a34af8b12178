from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    """Holdings, positions and funds of every connected account."""

    name = "portfolio"
    default_auto_field = "django.db.models.BigAutoField"
