"""Live connection status over WebSockets: in-process, and against a running daphne."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken

from brokers import services
from brokers.models import BrokerConnection
from budhitrade.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def token(user) -> str:
    return str(AccessToken.for_user(user))


async def open_socket(user=None, raw_token=None):
    query = f"?token={raw_token or token(user)}" if (user or raw_token) else ""
    communicator = WebsocketCommunicator(application, f"/ws/connections{query}")
    connected, code = await communicator.connect()
    return communicator, connected, code


async def test_expiry_reaches_the_owner_and_not_another_user(user, other_user):
    connection = await database_sync_to_async(BrokerConnection.objects.create)(
        user=user, broker="paper", account_id="PA1", status="connected"
    )
    mine, connected, _ = await open_socket(user)
    theirs, _, _ = await open_socket(other_user)
    assert connected
    assert json.loads(await mine.receive_from())["type"] == "connection"
    await theirs.receive_from()

    await database_sync_to_async(services.connection_expire)(connection=connection, reason="ended")

    update = json.loads(await mine.receive_from(timeout=5))
    assert update["type"] == "connection_update"
    assert update["status"] == "expired" and update["account_id"] == "PA1"
    assert await theirs.receive_nothing(timeout=0.3)
    await mine.disconnect()
    await theirs.disconnect()


@pytest.mark.parametrize("raw_token", [None, "not-a-jwt"])
async def test_socket_without_a_valid_token_is_refused(raw_token):
    _, connected, code = await open_socket(raw_token=raw_token)
    assert not connected and code == 4401


async def test_bad_json_gets_an_error_and_the_socket_stays_open(user):
    socket_, _, _ = await open_socket(user)
    await socket_.receive_from()

    await socket_.send_to(text_data="{not json")
    assert json.loads(await socket_.receive_from()) == {"type": "error", "message": "Invalid JSON"}
    await socket_.send_to(text_data=json.dumps({"type": "ping"}))
    pong = json.loads(await socket_.receive_from())
    assert pong["type"] == "pong" and pong["timestamp"]
    await socket_.disconnect()


def test_disconnect_over_http_reaches_a_real_websocket_client(live_daphne, user):
    import requests
    import websockets.sync.client

    connection = BrokerConnection.objects.create(user=user, broker="paper", account_id="PA7", status="connected")
    access = token(user)
    base = f"127.0.0.1:{live_daphne}"

    with websockets.sync.client.connect(f"ws://{base}/ws/connections?token={access}", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "connection"
        response = requests.post(
            f"http://{base}/broker/disconnect", headers={"Authorization": f"Bearer {access}", "X-Account-ID": "PA7"}, timeout=10
        )
        assert response.status_code == 200, response.text
        update = json.loads(ws.recv(timeout=10))

    assert update == {**update, "type": "connection_update", "status": "disconnected", "account_id": "PA7"}
    connection.refresh_from_db()
    assert connection.status == "disconnected"


def test_update_made_in_this_process_reaches_a_client_of_daphne_through_redis(live_daphne, user):
    """What a Celery worker does: change state in its own process; the browser on daphne hears it."""
    import websockets.sync.client

    assert settings.REDIS_URL, "the suite runs with Redis (embedded or real); see Makefile"
    connection = BrokerConnection.objects.create(user=user, broker="paper", account_id="PA8", status="connected")
    with websockets.sync.client.connect(f"ws://127.0.0.1:{live_daphne}/ws/connections?token={token(user)}", open_timeout=10) as ws:
        ws.recv(timeout=10)
        services.connection_expire(connection=connection, reason="ended at the broker")
        update = json.loads(ws.recv(timeout=10))

    assert update["status"] == "expired" and update["account_id"] == "PA8"


def test_an_idle_socket_on_daphne_stays_open_past_the_channel_layers_blocking_read(live_daphne, user):
    """The layer blocks 5 s per read; an idle socket must outlive it (redis-py 8's 5 s read timeout once cut it)."""
    import time

    import websockets.sync.client

    with websockets.sync.client.connect(f"ws://127.0.0.1:{live_daphne}/ws/connections?token={token(user)}",
                                        open_timeout=10) as ws:
        ws.recv(timeout=10)
        time.sleep(7)  # the idle time under test, longer than the layer's 5 s blocking read
        ws.send(json.dumps({"type": "ping"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "pong"
