"""How a Kotak Neo answer reads: success, error, an expired session, "No Data", and the login answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any

import jwt

from brokers.adapters.base import BrokerError

SESSION_ERROR_TEXT = "Complete the 2fa process"
SESSION_ERROR_CODES = {100022}
# What Neo says instead of an empty list: {"stat":"Not_Ok","stCode":5203,"errMsg":"No Data"}.
NO_DATA_CODES = {5203}
NO_DATA_TEXT = "no data"


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


def is_no_data(payload: Any) -> bool:
    """Neo's answer for an empty book: a "Not_Ok" body that only says there is nothing to list."""
    if not isinstance(payload, dict) or is_session_error(payload):
        return False
    if "error" in payload or "fault" in payload or "Error" in payload:
        return False
    return payload.get("stCode") in NO_DATA_CODES or error_message(payload).strip().lower() == NO_DATA_TEXT


def is_session_error(payload: Any) -> bool:
    """The SDK's "no trade session" answer, or Kotak's invalid-session body.

    The SDK docs' error tables give 403 "Invalid session, please re-login to
    continue"; that sentence may come under any of Neo's message keys.
    """
    if not isinstance(payload, dict):
        return False
    if SESSION_ERROR_TEXT in str(payload.get("Error Message", "")):
        return True
    return payload.get("stCode") in SESSION_ERROR_CODES or "invalid session" in error_message(payload).lower()


def is_broker_answer(payload: Any) -> bool:
    """Whether a failed answer is Kotak's own body, not an exception the SDK caught."""
    if not isinstance(payload, dict):
        return False
    if isinstance(payload.get("error"), list):
        return True
    return any(key in payload for key in ("stat", "stCode", "errMsg", "emsg", "message", "fault"))


def order_refusal_message(payload: Any) -> str:
    """Kotak's reason for refusing an order.

    Neo sometimes puts its only useful words in `stat` and a generic one in
    `errMsg` ({"errMsg":"error from core","stat":"Put Order Response : Client
    OrderID already exists Data: 0"}), so a `stat` that is a sentence is kept too.
    """
    message = error_message(payload)
    stat = str(payload.get("stat") or "").strip() if isinstance(payload, dict) else ""
    if stat and stat.lower() not in ("ok", "not_ok") and stat not in message:
        return f"{message} ({stat})"
    return message


def rows(payload: Any) -> list[dict[str, Any]]:
    """The "data" list, or none at all for Neo's "No Data" answer."""
    if not isinstance(payload, dict) or is_no_data(payload):
        return []
    listed = payload.get("data") or []
    if not isinstance(listed, list):
        raise BrokerError("Kotak Neo returned an answer that could not be read.")
    return [row for row in listed if isinstance(row, dict)]


def history_body(payload: Any) -> Any:
    """NeoAPI.order_history wraps Kotak's answer as {"data": <answer>}; this is the answer."""
    if isinstance(payload, dict) and set(payload) == {"data"} and isinstance(payload["data"], dict):
        return payload["data"]
    return payload


# --- login ------------------------------------------------------------------------------------

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
