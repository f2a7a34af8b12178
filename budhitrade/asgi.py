"""ASGI entry point: HTTP through Django, WebSockets through each app's routing."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "budhitrade.settings.base")
django_http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from budhitrade.asgi_body import ChunkedBodyLimit  # noqa: E402
from budhitrade.channels_auth import BrowserOriginValidator, JWTQueryAuthMiddleware  # noqa: E402
from budhitrade.routing import websocket_urlpatterns  # noqa: E402

# Close code for a socket to a path no app serves (4000-4999 are the application's own).
CLOSE_NOT_FOUND = 4404


async def websocket_not_found(scope, receive, send):
    """Refuses the handshake of a socket to a path no app serves: the server answers it with HTTP 403."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": CLOSE_NOT_FOUND})


application = ProtocolTypeRouter(
    {
        "http": ChunkedBodyLimit(django_http),
        # The API's own hosts and the frontend's CORS origins may open sockets.
        "websocket": BrowserOriginValidator(
            JWTQueryAuthMiddleware(URLRouter([*websocket_urlpatterns, re_path(r"", websocket_not_found)])),
            allowed_origins=[],
        ),
    }
)
