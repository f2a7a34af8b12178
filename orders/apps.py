from django.apps import AppConfig


class OrdersConfig(AppConfig):
    """Orders, their history and fills, on any broker."""

    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from orders import receivers  # noqa: F401  (connects the broker update receivers)
