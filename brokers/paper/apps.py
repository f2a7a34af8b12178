from django.apps import AppConfig


class PaperConfig(AppConfig):
    """The paper exchange's market, listing, accounts and order book."""

    name = "brokers.paper"
    label = "paper"
    verbose_name = "Paper exchange"
    default_auto_field = "django.db.models.BigAutoField"
