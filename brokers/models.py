"""Broker connections and the real brokers' instrument masters."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from brokers.domain import INSTRUMENT_NAME_LENGTH, INSTRUMENT_SYMBOL_LENGTH, Broker, ConnectionStatus
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


class BrokerInstrument(models.Model):
    """One instrument a real broker lists, from its daily instrument master (Kite's /instruments, Kotak's scrip master)."""

    broker = models.CharField(max_length=20, choices=Broker.choices)
    exchange = models.CharField(max_length=8)
    tradingsymbol = models.CharField(max_length=INSTRUMENT_SYMBOL_LENGTH)
    token = models.CharField(max_length=32)
    name = models.CharField(max_length=INSTRUMENT_NAME_LENGTH, blank=True, default="")
    instrument_type = models.CharField(max_length=8)
    lot_size = models.IntegerField()
    tick_size = models.DecimalField(max_digits=12, decimal_places=4)
    expiry = models.DateField(null=True, blank=True)
    strike = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    listed_on = models.DateField(help_text="The day of the master this row last came from.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["broker", "exchange", "tradingsymbol"],
                                               name="broker_instrument_unique")]
        indexes = [
            models.Index(fields=["broker", "name", "expiry"]),
            # The market endpoints' reads of a ~10^5-row master: instruments by token (brokers/market/resolve.py),
            # and the search's symbol prefix (istartswith is UPPER(..) LIKE 'Q%') and symbol or name contains.
            models.Index(fields=["broker", "exchange", "token"], name="brokerinstr_token"),
            models.Index(OpClass(Upper("tradingsymbol"), name="text_pattern_ops"), name="brokerinstr_symbol_prefix"),
            GinIndex(OpClass(Upper("tradingsymbol"), name="gin_trgm_ops"), name="brokerinstr_symbol_trgm"),
            GinIndex(OpClass(Upper("name"), name="gin_trgm_ops"), name="brokerinstr_name_trgm"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.tradingsymbol} ({self.broker})"


class InstrumentMaster(models.Model):
    """When a broker's instrument master was last loaded, and how many instruments it listed."""

    broker = models.CharField(max_length=20, choices=Broker.choices, unique=True)
    listed_on = models.DateField()
    loaded_at = models.DateTimeField()
    count = models.IntegerField()

    def __str__(self) -> str:
        return f"{self.broker} instruments of {self.listed_on}: {self.count}"
