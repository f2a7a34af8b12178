"""WebSocket sign-in: the access JWT rides in the `?token=` query parameter."""

from __future__ import annotations

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http.request import validate_host
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken


@database_sync_to_async
def _user_for(token: str):
    try:
        user_id = AccessToken(token)["user_id"]
    except (TokenError, KeyError):
        return AnonymousUser()
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    return user or AnonymousUser()


class JWTQueryAuthMiddleware:
    """Puts the token's user (or AnonymousUser) in scope["user"]; consumers decide what to refuse."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        query = parse_qs(scope.get("query_string", b"").decode())
        token = (query.get("token") or [""])[0]
        scope = dict(scope, user=await _user_for(token) if token else AnonymousUser())
        return await self.inner(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """Checks Origin where a browser sends one; clients that send none (servers, scripts) pass.

    Sockets authenticate by token, not cookies, so a missing Origin carries
    no cross-site risk; a browser always sends one and it must be allowed.
    """

    def valid_origin(self, parsed_origin):
        if parsed_origin is None:
            return True
        if validate_host(parsed_origin.hostname or "", settings.ALLOWED_HOSTS):
            return True
        return f"{parsed_origin.scheme}://{parsed_origin.netloc}" in settings.CORS_ALLOWED_ORIGINS
