"""Orders as BudhiTrade keeps them: saved before the broker hears of them, with every state they pass through."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from brokers.domain import OrderStatus
from brokers.models import BrokerConnection

MONEY = {"max_digits": 14, "decimal_places": 2}


class Order(models.Model):
    """One order on one account (seed 004 §3 field names)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    connection = models.ForeignKey(BrokerConnection, on_delete=models.CASCADE, related_name="orders")
    broker_order_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    exchange_order_id = models.CharField(max_length=64, blank=True, default="")
    tradingsymbol = models.CharField(max_length=64)
    exchange = models.CharField(max_length=8)
    transaction_type = models.CharField(max_length=4)
    order_type = models.CharField(max_length=8)
    product = models.CharField(max_length=8)
    variety = models.CharField(max_length=8, default="regular")
    quantity = models.IntegerField()
    price = models.DecimalField(**MONEY, null=True, blank=True)
    trigger_price = models.DecimalField(**MONEY, null=True, blank=True)
    disclosed_quantity = models.IntegerField(default=0)
    validity = models.CharField(max_length=4, default="DAY")
    tag = models.CharField(max_length=32, blank=True, default="", help_text="The user's own label.")
    broker_tag = models.CharField(max_length=20, unique=True, help_text="Unique per order: how a lost answer is found.")
    status = models.CharField(max_length=16, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    filled_quantity = models.IntegerField(default=0)
    # The quantity of the fills recorded (Trade rows), kept with them: a finished order whose recorded fills fall
    # short of its filled quantity still needs the broker's trade book.
    traded_quantity = models.IntegerField(default=0)
    pending_quantity = models.IntegerField(default=0)
    average_price = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    status_message = models.TextField(blank=True, default="")
    order_timestamp = models.DateTimeField(null=True, blank=True)
    exchange_timestamp = models.DateTimeField(null=True, blank=True)
    cancelled_quantity = models.IntegerField(default=0)
    validity_ttl = models.IntegerField(null=True, blank=True, help_text="Minutes, for a TTL validity.")
    exchange_update_timestamp = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=128, blank=True, default="")
    batch_id = models.UUIDField(null=True, blank=True, db_index=True)
    # A batch rolled back while this order's placement had no answer: cancel it once the broker's book shows it.
    cancel_when_found = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["connection", "status"]), models.Index(fields=["connection", "-created_at"]),
            # What the reconcile reads: the unfinished orders, and those whose fills are not all recorded (both few).
            models.Index(fields=["connection"], name="order_unfinished",
                         condition=~models.Q(status__in=["COMPLETE", "REJECTED", "CANCELLED"])),
            models.Index(fields=["connection"], name="order_fills_unrecorded",
                         condition=models.Q(filled_quantity__gt=models.F("traded_quantity"))),
        ]

    def __str__(self) -> str:
        return f"{self.transaction_type} {self.quantity} {self.tradingsymbol} ({self.status})"

    @property
    def order_id(self) -> str:
        """What the API calls the order: the broker's id once it has one, else BudhiTrade's."""
        return self.broker_order_id or str(self.id)


class OrderEvent(models.Model):
    """A state the order passed through: its history."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=16, choices=OrderStatus.choices)
    filled_quantity = models.IntegerField(default=0)
    average_price = models.DecimalField(max_digits=14, decimal_places=4, default=0)
    message = models.TextField(blank=True, default="")
    source = models.CharField(max_length=16, help_text="user, broker, reconcile, feed")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]


class Trade(models.Model):
    """A fill of an order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="trades")
    trade_id = models.CharField(max_length=64)
    quantity = models.IntegerField()
    price = models.DecimalField(**MONEY)
    exchange_order_id = models.CharField(max_length=64, blank=True, default="")
    fill_timestamp = models.DateTimeField(null=True, blank=True)
    exchange_timestamp = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["fill_timestamp", "id"]
        constraints = [models.UniqueConstraint(fields=["order", "trade_id"], name="one_trade_row_per_fill")]


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an Idempotency-Key, replayed for 24 hours."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    request_hash = models.CharField(max_length=64)
    response_status = models.IntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    orders = models.ManyToManyField(Order, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_record_per_idempotency_key")]
