"""A socket to a path no app serves is refused at the handshake, on the real ASGI application."""

import pytest
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from budhitrade.asgi import CLOSE_NOT_FOUND, application


@pytest.mark.parametrize("path", ["/ws/nowhere", "/ws/orders", "/ws/orders/PA1/extra", "/ws/connections/", "/",
                                  "/api/schema"])
async def test_unknown_websocket_path_is_refused_not_an_error(path):
    communicator = WebsocketCommunicator(application, path)

    connected, code = await communicator.connect(timeout=5)

    assert connected is False
    assert code == CLOSE_NOT_FOUND


@pytest.mark.django_db(transaction=True)
async def test_unknown_websocket_path_is_refused_for_a_signed_in_user_too(user):
    communicator = WebsocketCommunicator(application, f"/ws/nowhere?token={AccessToken.for_user(user)}")

    connected, code = await communicator.connect(timeout=5)

    assert (connected, code) == (False, CLOSE_NOT_FOUND)


async def test_served_paths_still_route_to_their_consumers():
    """Without a token the connection-status consumer itself refuses (4401), so routing reached it."""
    communicator = WebsocketCommunicator(application, "/ws/connections")

    connected, code = await communicator.connect(timeout=5)

    assert (connected, code) == (False, 4401)
