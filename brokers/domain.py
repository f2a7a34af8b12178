"""BudhiTrade's own broker vocabulary: what every adapter speaks upward."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models


class Broker(models.TextChoices):
    KOTAK_NEO = "kotak_neo", "Kotak Neo"
    ZERODHA = "zerodha", "Zerodha"
    PAPER = "paper", "Paper"


class ConnectionStatus(models.TextChoices):
    PENDING_MPIN = "pending_mpin", "Pending MPIN"
    PENDING_LOGIN = "pending_login", "Pending broker login"
    CONNECTED = "connected", "Connected"
    EXPIRED = "expired", "Session expired"
    DISCONNECTED = "disconnected", "Disconnected"
    ERROR = "error", "Error"


@dataclass(frozen=True)
class LoginStep:
    """Where a login stands after one step, and what to keep for the next."""

    status: ConnectionStatus
    message: str
    session: Mapping[str, Any] = field(default_factory=dict)
    account_id: str = ""
    login_url: str = ""
    expires_at: datetime | None = None
    profile: Mapping[str, str] = field(default_factory=dict)
