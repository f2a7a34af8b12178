from django.apps import AppConfig


class BrokersConfig(AppConfig):
    """Broker connections and the adapters that talk to each broker."""

    name = "brokers"
    default_auto_field = "django.db.models.BigAutoField"
