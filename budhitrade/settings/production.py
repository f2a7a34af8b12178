"""Production settings: the embedded defaults are refused, logs are JSON."""

import os

from django.core.exceptions import ImproperlyConfigured

for _required in ("SECRET_KEY", "ENCRYPTION_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"):
    if not os.environ.get(_required, "").strip():
        raise ImproperlyConfigured(f"{_required} must be set in production")

os.environ.setdefault("LOG_FORMAT", "json")

from .base import *  # noqa: E402,F403

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
