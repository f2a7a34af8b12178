"""HTTP edges every request passes: rate limits (counted in the shared cache) and the body size bound."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.http import JsonResponse
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from budhitrade.exceptions import error_body
from budhitrade.logging import OutageLog
from budhitrade.throttle import window_count

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


def _client_identity(request) -> tuple[str, int]:
    """A user id from a valid Bearer token, else the client address; and its limit."""
    if request.path in settings.POSTBACK_PATHS:
        return f"postback:{request.META.get('REMOTE_ADDR', 'unknown')}", settings.RATE_LIMIT_POSTBACK_PER_MINUTE
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Bearer "):
        try:
            token = AccessToken(header.split(" ", 1)[1].strip())
            return f"user:{token['user_id']}", settings.RATE_LIMIT_USER_PER_MINUTE
        except (TokenError, KeyError):
            pass
    return f"ip:{request.META.get('REMOTE_ADDR', 'unknown')}", settings.RATE_LIMIT_ANON_PER_MINUTE


_cache_outage = OutageLog(logger, "rate_limit_cache_unavailable")


def _count(identity: str, window_start: int) -> int | None:
    try:
        count = window_count(f"ratelimit:{identity}:{window_start}", ttl_seconds=WINDOW_SECONDS + 5)
    except Exception:
        # A cache outage must not take the API down with it: fail open, logged once per outage.
        _cache_outage.failed()
        return None
    _cache_outage.succeeded()
    return count


class RateLimitMiddleware:
    """Fixed one-minute windows per user (JWT) or per IP, atomic in Redis."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        identity, limit = _client_identity(request)
        now = time.time()
        window_start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        count = _count(identity, window_start)
        remaining = limit if count is None else max(0, limit - count)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(window_start + WINDOW_SECONDS),
        }
        if count is not None and count > limit:
            response = JsonResponse(
                error_body("Rate limit exceeded; try again after X-RateLimit-Reset.", 429),
                status=429,
            )
            response["Retry-After"] = str(max(1, int(window_start + WINDOW_SECONDS - now)))
        else:
            response = self.get_response(request)
        for name, value in headers.items():
            response[name] = value
        return response


class BodySizeLimitMiddleware:
    """Refuses a body declared larger than MAX_REQUEST_BODY_BYTES with a 413, before anything reads it.

    It runs ahead of every reader of the body (forms, CSRF, DRF's parsers), whatever the content type;
    a body that declares no length (chunked) is read and bounded before Django
    (budhitrade.asgi_body), which then declares its length.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared:
            if not declared.strip().isdigit():
                return JsonResponse(error_body("Content-Length is not a number of bytes.", 400), status=400)
            limit = settings.MAX_REQUEST_BODY_BYTES
            if int(declared) > limit:
                return JsonResponse(error_body(f"Request body is larger than {limit} bytes.", 413), status=413)
        return self.get_response(request)
