from django.apps import AppConfig


class OrdersConfig(AppConfig):
    """Orders, their history and fills, on any broker."""

    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"
