from django.apps import AppConfig


class BudhitradeConfig(AppConfig):
    """The project package as an app: its management commands and templates."""

    name = "budhitrade"
    verbose_name = "BudhiTrade"
