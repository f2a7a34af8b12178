"""Broker connections, and the paper exchange's own accounts."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from brokers.domain import Broker, ConnectionStatus
from budhitrade.encryption import EncryptedJSONField


class BrokerConnection(models.Model):
    """A user's link to one broker account, with its secrets encrypted at rest."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="broker_connections"
    )
    broker = models.CharField(max_length=16, choices=Broker.choices)
    account_id = models.CharField(
        max_length=64, blank=True, default="", help_text="The broker's own client id; empty until known."
    )
    status = models.CharField(
        max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING_LOGIN
    )
    # Keys, secrets, mobile number, UCC: what logs in again.
    credentials = EncryptedJSONField()
    # Tokens, sids, base URL: what resumes the broker session in any process.
    session = EncryptedJSONField()
    # Non-secret per-broker settings (Kotak environment, paper opening cash).
    options = models.JSONField(default=dict, blank=True)
    user_name = models.CharField(max_length=128, blank=True, default="")
    last_connected_at = models.DateTimeField(null=True, blank=True)
    session_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "broker", "account_id"],
                condition=~Q(account_id=""),
                name="unique_broker_account_per_user",
            )
        ]
        indexes = [models.Index(fields=["status", "session_expires_at"])]

    def __str__(self) -> str:
        return f"{self.get_broker_display()} {self.account_id or '(pending)'}"

    @property
    def is_connected(self) -> bool:
        return self.status == ConnectionStatus.CONNECTED

    @property
    def masked_mobile_number(self) -> str:
        digits = "".join(ch for ch in str(self.credentials.get("mobile_number", "")) if ch.isdigit())
        return digits[-4:] if digits else ""


class PaperAccount(models.Model):
    """An account at the paper exchange; the paper adapter is its only client."""

    account_id = models.CharField(max_length=16, unique=True)
    opening_cash = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("1000000"))
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.account_id
