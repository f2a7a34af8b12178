"""ASGI entry point: HTTP through Django, WebSockets through each app's routing."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "budhitrade.settings.base")
django_http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from budhitrade.channels_auth import BrowserOriginValidator, JWTQueryAuthMiddleware  # noqa: E402
from budhitrade.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_http,
        # The API's own hosts and the frontend's CORS origins may open sockets.
        "websocket": BrowserOriginValidator(
            JWTQueryAuthMiddleware(URLRouter(websocket_urlpatterns)), allowed_origins=[]
        ),
    }
)
