"""Log plumbing: every record passes a filter that masks secrets."""

from __future__ import annotations

import logging
import re

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
