"""Kotak Neo wire formats to BudhiTrade types: the only module that knows Neo's keys."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import jwt

SESSION_ERROR_TEXT = "Complete the 2fa process"


def is_success(payload: Any) -> bool:
    """A Neo answer that carries data and no error marker."""
    if not isinstance(payload, dict):
        return False
    if any(key in payload for key in ("error", "Error", "Error Message", "errMsg", "fault")):
        return False
    stat = str(payload.get("stat", "")).lower()
    if stat == "not_ok":
        return False
    return stat == "ok" or "data" in payload


def error_message(payload: Any) -> str:
    """The broker's own sentence for a failed answer."""
    if not isinstance(payload, dict):
        return "unexpected answer"
    errors = payload.get("error")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict):
            return str(first.get("message") or first.get("code") or "error")
        return str(first)
    for key in ("Error Message", "errMsg", "message", "emsg"):
        if payload.get(key):
            return str(payload[key])
    if "Error" in payload:
        value = payload["Error"]
        return str(getattr(value, "reason", None) or value)
    fault = payload.get("fault")
    if isinstance(fault, dict):
        return str(fault.get("message") or fault.get("description") or "error")
    data = payload.get("data")
    if isinstance(data, dict) and data.get("message"):
        return str(data["message"])
    return "unexpected answer"


SESSION_ERROR_CODES = {100022}


def is_session_error(payload: Any) -> bool:
    """The SDK's "no trade session" answer, or Kotak's invalid-session body."""
    if not isinstance(payload, dict):
        return False
    if SESSION_ERROR_TEXT in str(payload.get("Error Message", "")):
        return True
    return payload.get("stCode") in SESSION_ERROR_CODES or "invalid session" in str(
        payload.get("errMsg", "")
    ).lower()


def login_data(payload: dict[str, Any]) -> dict[str, Any]:
    return payload.get("data") or {}


def account_id_from_login(payload: dict[str, Any], *, fallback: str) -> str:
    return str(login_data(payload).get("ucc") or fallback).upper()


def profile_from_login(payload: dict[str, Any]) -> dict[str, str]:
    data = login_data(payload)
    return {"user_name": str(data.get("greetingName") or "")}


def session_expiry(token: str | None, *, now: datetime, default_hours: int) -> datetime:
    """The trade token's own `exp` claim where it has one, else a fixed lifetime."""
    if token:
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
            if claims.get("exp"):
                return datetime.fromtimestamp(int(claims["exp"]), tz=dt_timezone.utc)
        except (jwt.PyJWTError, TypeError, ValueError):
            pass
    return now + timedelta(hours=default_hours)
