"""Log plumbing: every record passes a filter that masks secrets."""

from __future__ import annotations

import logging
import re
import threading

SECRET_FIELD_NAMES = frozenset(
    {
        "access_token",
        "api_key",
        "api_secret",
        "auth",
        "authorization",
        "consumer_key",
        "consumer_secret",
        "edit_token",
        "enc_token",
        "mpin",
        "otp",
        "password",
        "public_token",
        "refresh",
        "refresh_token",
        "request_token",
        "secret",
        "session",
        "sid",
        "token",
        "totp",
        "view_token",
    }
)
MASK = "***"

_RESERVED = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "context"}
_names = "|".join(sorted(SECRET_FIELD_NAMES, key=len, reverse=True))
_KEY_VALUE = re.compile(rf"(?i)\b({_names})(\"?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,&}}]+)")
_BEARER = re.compile(r"(?i)\b(bearer|token)\s+[A-Za-z0-9._\-:]+")


def mask_text(text: str) -> str:
    """Mask `name=value` and `"name": "value"` pairs whose name is a secret."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    return _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def mask_value(key: str, value):
    if key.lower() in SECRET_FIELD_NAMES:
        return MASK
    if isinstance(value, dict):
        return {k: mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, str):
        return mask_text(value)
    return value


class SecretMaskingFilter(logging.Filter):
    """Masks secrets in the message and in `extra` fields; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = str(record.msg)
        record.msg = mask_text(message)
        record.args = ()
        context = []
        for key in list(record.__dict__):
            if key in _RESERVED or key.startswith("_"):
                continue
            masked = mask_value(key, record.__dict__[key])
            record.__dict__[key] = masked
            context.append(f"{key}={masked}")
        record.context = " ".join(context)
        return True


class OutageLog:
    """Logs a failing dependency once per outage (with its traceback), then once more when it works again.

    A Redis outage fails every request's rate-limit count and every push; a
    line for each would bury everything else in the log.
    """

    def __init__(self, logger: logging.Logger, event: str) -> None:
        self.logger, self.event = logger, event
        self._failures = 0
        self._lock = threading.Lock()

    def failed(self, **extra) -> None:
        """Call from an `except` block: the first failure of an outage is logged whole, the rest counted."""
        with self._lock:
            self._failures += 1
            first = self._failures == 1
        if first:
            self.logger.warning(self.event, extra=extra, exc_info=True)

    def succeeded(self) -> None:
        """Call after a success: ends an outage, logging how many failures it had."""
        if not self._failures:
            return
        with self._lock:
            failures, self._failures = self._failures, 0
        if failures:
            self.logger.info(f"{self.event}_recovered", extra={"failures": failures})
