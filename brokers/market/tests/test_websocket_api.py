"""Seed 002's market-socket management endpoints against live in-process sockets: what each caller sees and touches.

The endpoints are sync DRF views and the sockets async consumers; the views
run in a worker thread (database_sync_to_async) beside the sockets' loop, the
way a web process runs both.
"""

import json
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from brokers.market import keys
from brokers.market.feed_publish import ticks_publish
from brokers.market.tests.listings import paper_listing  # noqa: F401
from brokers.market.tests.test_market_socket import (  # noqa: F401 (fixtures)
    RELIANCE, TCS, WAIT, connected_market, feed, ltp, market_redis, publish, receive_until, subscribed, tick,
    wait_not_listening)

pytestmark = pytest.mark.django_db(transaction=True)

TCS_TOKEN = {"instrument_token": "11536", "exchange_segment": "nse_cm"}
RELIANCE_TOKEN = {"instrument_token": "2885", "exchange_segment": "nse_cm"}


def call(client, method, path, body=None):
    """One request through the API client, in a worker thread: (status code, JSON body)."""
    def run():
        send = getattr(client, method)
        answer = send(path, body, format="json") if body is not None else send(path)
        return answer.status_code, answer.json()

    return database_sync_to_async(run)()


async def test_status_lists_only_the_callers_live_clients_and_staff_see_all(
        user, other_user, make_user, client_for, paper_listing):
    staff = await database_sync_to_async(make_user)("desk", is_staff=True)
    sockets = [(await connected_market(owner, client_id))[0]
               for owner, client_id in ((user, "asha-1"), (user, "asha-2"), (other_user, "ravi-1"))]

    assert await call(client_for(user), "get", "/api/websocket/status") == (
        200, {"active_connections": 2, "clients": ["asha-1", "asha-2"]})
    assert await call(client_for(other_user), "get", "/api/websocket/status") == (
        200, {"active_connections": 1, "clients": ["ravi-1"]})
    assert await call(client_for(staff), "get", "/api/websocket/status") == (
        200, {"active_connections": 3, "clients": ["asha-1", "asha-2", "ravi-1"]})

    await sockets[0].disconnect()
    assert (await call(client_for(user), "get", "/api/websocket/status"))[1]["clients"] == ["asha-2"]
    for socket in sockets[1:]:
        await socket.disconnect()


async def test_a_socket_whose_process_is_gone_is_not_listed(user, client_for, paper_listing, market_redis):
    socket, _ = await connected_market(user, "asha-1")

    dead = "0" * 32  # a web process whose heartbeat expired: its sockets' records stay behind until claimed
    market_redis.hset(keys.client_key("asha-1"), "process", dead)

    assert await call(client_for(user), "get", "/api/websocket/status") == (
        200, {"active_connections": 0, "clients": []})
    assert (await call(client_for(user), "get", "/api/websocket/subscriptions/asha-1"))[0] == 404
    assert (await call(client_for(user), "post", "/api/websocket/disconnect/asha-1", {}))[0] == 404
    await socket.disconnect()


async def test_subscriptions_shows_the_sockets_tokens_and_count(user, client_for, paper_listing):
    socket, _ = await connected_market(user, "asha-1")
    assert await call(client_for(user), "get", "/api/websocket/subscriptions/asha-1") == (
        200, {"client_id": "asha-1", "subscribed_tokens": [], "count": 0})

    await subscribed(socket)

    assert await call(client_for(user), "get", "/api/websocket/subscriptions/asha-1") == (
        200, {"client_id": "asha-1", "subscribed_tokens": [TCS_TOKEN, RELIANCE_TOKEN], "count": 2})
    await socket.disconnect()


async def test_another_users_client_is_404_everywhere_and_stays_untouched(
        user, other_user, client_for, paper_listing, feed):
    socket, _ = await connected_market(user, "asha-1")
    await subscribed(socket)
    intruder = client_for(other_user)

    answers = [
        await call(intruder, "get", "/api/websocket/subscriptions/asha-1"),
        await call(intruder, "post", "/api/websocket/unsubscribe",
                   {"client_id": "asha-1", "instrument_tokens": [TCS_TOKEN]}),
        await call(intruder, "post", "/api/websocket/disconnect/asha-1", {}),
    ]

    for status_code, body in answers:
        assert status_code == 404 and body["status_code"] == 404 and "asha-1" in body["detail"]
    assert await socket.receive_nothing(timeout=0.5)  # neither told to unsubscribe nor to go
    await publish(feed, TCS, tick(TCS, "3105.00"))
    update, _ = await receive_until(socket, "market_data")
    assert ltp(update) == Decimal("3105.00")
    assert (await call(client_for(user), "get", "/api/websocket/subscriptions/asha-1"))[1]["count"] == 2
    await socket.disconnect()


async def test_unsubscribe_removes_the_tokens_from_the_socket_and_its_record(user, client_for, paper_listing, feed):
    socket, _ = await connected_market(user, "asha-1")
    await subscribed(socket)

    answer = await call(client_for(user), "post", "/api/websocket/unsubscribe",
                        {"client_id": "asha-1", "instrument_tokens": [TCS_TOKEN]})

    assert answer == (200, {"status": "success", "client_id": "asha-1", "unsubscribed": [TCS_TOKEN], "count": 1})
    status, _ = await receive_until(socket, "status")
    assert (status["event"], status["count"]) == ("unsubscribed", 1)
    await wait_not_listening(feed, keys.tick_channel(keys.PAPER_STREAM, TCS))
    assert await ticks_publish(feed, keys.PAPER_STREAM, {TCS: tick(TCS, "3200.00")}) == 0
    await publish(feed, RELIANCE, tick(RELIANCE, "1505.00"))
    update, seen = await receive_until(socket, "market_data")
    assert update["data"]["instrument_token"] == "2885" and len(seen) == 1
    assert await call(client_for(user), "get", "/api/websocket/subscriptions/asha-1") == (
        200, {"client_id": "asha-1", "subscribed_tokens": [RELIANCE_TOKEN], "count": 1})
    again = await call(client_for(user), "post", "/api/websocket/unsubscribe",  # any case, as the socket takes it
                       {"client_id": "asha-1", "instrument_tokens": [{**TCS_TOKEN, "exchange_segment": "NSE_CM"}]})
    assert again == (200, {"status": "success", "client_id": "asha-1", "unsubscribed": [], "count": 1})
    await socket.disconnect()


async def test_disconnect_closes_the_socket_with_4000_and_it_drops_from_status(user, client_for, paper_listing):
    socket, _ = await connected_market(user, "asha-1")

    answer = await call(client_for(user), "post", "/api/websocket/disconnect/asha-1", {})

    assert answer[0] == 200 and answer[1]["status"] == "success" and answer[1]["client_id"] == "asha-1"
    goodbye = json.loads(await socket.receive_from(timeout=WAIT))
    assert (goodbye["type"], goodbye["event"]) == ("status", "disconnected")
    assert await socket.receive_output(timeout=WAIT) == {"type": "websocket.close", "code": 4000}
    await socket.disconnect()
    assert await call(client_for(user), "get", "/api/websocket/status") == (
        200, {"active_connections": 0, "clients": []})
    assert (await call(client_for(user), "post", "/api/websocket/disconnect/asha-1", {}))[0] == 404


@pytest.mark.parametrize("body, field", [
    ({"instrument_tokens": [TCS_TOKEN]}, "client_id"),
    ({"client_id": "asha-1"}, "instrument_tokens"),
    ({"client_id": "asha-1", "instrument_tokens": []}, "instrument_tokens"),
    ({"client_id": "asha-1", "instrument_tokens": "11536"}, "instrument_tokens"),
    ({"client_id": "asha-1", "instrument_tokens": [{"instrument_token": "11536", "exchange_segment": "nse_xx"}]},
     "nse_xx"),
    ({"client_id": "asha-1", "instrument_tokens": [{"instrument_token": "11536"}]}, "exchange_segment"),
    ({"client_id": "asha-1", "instrument_tokens": [{"instrument_token": "999999", "exchange_segment": "nse_cm"}]},
     "999999"),
])
async def test_a_bad_unsubscribe_body_is_a_400_in_the_contracts_shape(user, client_for, paper_listing, body, field):
    socket, _ = await connected_market(user, "asha-1")
    await subscribed(socket)

    status_code, answer = await call(client_for(user), "post", "/api/websocket/unsubscribe", body)

    assert status_code == 400 and answer["status_code"] == 400 and answer["detail"], answer
    assert field in json.dumps(answer)
    assert await socket.receive_nothing(timeout=0.3)
    await socket.disconnect()


@pytest.mark.parametrize("method, path", [
    ("get", "/api/websocket/status"), ("get", "/api/websocket/subscriptions/asha-1"),
    ("post", "/api/websocket/unsubscribe"), ("post", "/api/websocket/disconnect/asha-1")])
def test_the_endpoints_need_a_signed_in_user(api, method, path):
    answer = getattr(api, method)(path)
    assert answer.status_code == 401 and answer.json()["status_code"] == 401
