"""Kite's login answers: the session to keep, the account and when the session ends."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from brokers.adapters.zerodha.mapping.values import IST, TIMESTAMP_FORMAT

# Kite access tokens stay valid until 06:00 IST the next morning.
SESSION_RESET = time(6, 0)


def session_expiry(login_time: datetime | None, *, now: datetime) -> datetime:
    """The first 06:00 IST after the login."""
    if login_time is None:
        login_time = now
    if login_time.tzinfo is None:
        login_time = login_time.replace(tzinfo=IST)
    local = login_time.astimezone(IST)
    reset = datetime.combine(local.date(), SESSION_RESET, tzinfo=IST)
    return reset if local < reset else reset + timedelta(days=1)


def session_from_wire(payload: dict[str, Any]) -> dict[str, str]:
    """What to keep (encrypted) to resume a Kite session in any process."""
    return {
        "access_token": payload["access_token"],
        "public_token": payload.get("public_token") or "",
        "refresh_token": payload.get("refresh_token") or "",
    }


def account_id_from_wire(payload: dict[str, Any]) -> str:
    return str(payload["user_id"]).upper()


def profile_from_wire(payload: dict[str, Any]) -> dict[str, str]:
    return {
        "user_name": payload.get("user_name") or "",
        "email": payload.get("email") or "",
    }


def login_time_from_wire(payload: dict[str, Any]) -> datetime | None:
    value = payload.get("login_time")
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.strptime(value, TIMESTAMP_FORMAT)
    return None
