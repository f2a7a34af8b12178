"""What web processes tell the market feed, and market sockets across two real daphne processes.

Each process's hub writes the union of its sockets' wants to its own want
hash; the feed carries an instrument while any process wants it. Ticks go
out once per process and fan out inside it; the socket records are in Redis,
so the management endpoints of one process reach a socket held by another.
"""

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from decimal import Decimal
from urllib.parse import quote

import pytest
import requests
import websockets.sync.client
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken
from websockets.exceptions import ConnectionClosed

from brokers.market import feed_publish, keys
from brokers.market.hub import hub
from brokers.market.keys import StreamMode
from brokers.market.tests.listings import paper_listing  # noqa: F401
from brokers.market.tests.test_market_socket import (  # noqa: F401 (fixtures)
    KEY_NAMES, TCS, WAIT, connected_market, feed, ltp, market_redis, publish, receive_until, subscribe_message,
    subscribed, tick, wait_not_listening)
from brokers.tests.fixtures import wait_for
from budhitrade.embedded_redis import free_port

pytestmark = pytest.mark.django_db(transaction=True)

TCS_WANT = keys.want_field(keys.PAPER_STREAM, TCS)


# --- one process: its want hash --------------------------------------------------------------------------------

async def demand_note(pubsub) -> str:
    """The next process id announced on keys.DEMAND_CHANNEL."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
        if message is not None:
            return message["data"].decode()
    raise AssertionError("no demand note")


async def test_the_want_hash_holds_the_highest_mode_any_socket_wants_until_the_last_one_leaves(
        user, paper_listing, feed, market_redis):
    demand = feed.pubsub()
    await demand.subscribe(keys.DEMAND_CHANNEL)
    lean, _ = await connected_market(user, "lean")
    deep, _ = await connected_market(user, "deep")
    want = keys.want_key(hub.process_id)

    await subscribed(lean, subscribe_message("11536"))
    assert await demand_note(demand) == hub.process_id
    assert market_redis.hgetall(want) == {TCS_WANT.encode(): b"2"}
    await subscribed(deep, subscribe_message("11536", isDepth=True))
    assert await demand_note(demand) == hub.process_id
    assert market_redis.hget(want, TCS_WANT) == keys.want_value(StreamMode.DEPTH, False).encode()
    assert hub.process_id.encode() in market_redis.smembers(keys.WANT_PROCESSES)
    assert market_redis.ttl(keys.process_key(hub.process_id)) > 0  # the heartbeat that says the hash is live

    await deep.disconnect()  # the deeper socket leaves: the remaining one's mode
    assert await demand_note(demand) == hub.process_id
    assert market_redis.hget(want, TCS_WANT) == b"2"
    await publish(feed, TCS, tick(TCS, "3130.00"))
    update, _ = await receive_until(lean, "market_data")
    assert ltp(update) == Decimal("3130.00") and "depth" not in update["data"]

    await lean.send_to(text_data=subscribe_message("11536", action="unsubscribe"))
    await receive_until(lean, "status")
    assert await demand_note(demand) == hub.process_id
    assert market_redis.hgetall(want) == {}
    await wait_not_listening(feed, keys.tick_channel(keys.PAPER_STREAM, TCS))
    await lean.disconnect()
    await demand.aclose()


async def test_a_second_socket_at_the_same_mode_changes_nothing_the_feed_must_hear(
        user, paper_listing, feed, market_redis):
    first, _ = await connected_market(user, "first")
    second, _ = await connected_market(user, "second")
    await subscribed(first, subscribe_message("11536"))
    demand = feed.pubsub()
    await demand.subscribe(keys.DEMAND_CHANNEL)
    await demand.get_message(timeout=WAIT)  # the subscribe's confirmation

    await subscribed(second, subscribe_message("11536"))
    await first.disconnect()

    assert await demand.get_message(ignore_subscribe_messages=True, timeout=0.5) is None
    assert market_redis.hget(keys.want_key(hub.process_id), TCS_WANT) == b"2"
    await second.disconnect()
    assert await demand_note(demand) == hub.process_id
    await demand.aclose()


# --- two daphne processes ---------------------------------------------------------------------------------------

# Starts daphne as serve does (budhitrade.daphne_server) with the market's Redis names under the test's prefix (see
# market_prefix_set).
LAUNCH = ("import sys; from brokers.market import keys; prefix = sys.argv.pop(1); default = keys.PREFIX; "
          "keys.PREFIX = prefix; [setattr(keys, name, prefix + getattr(keys, name).removeprefix(default)) "
          f"for name in {KEY_NAMES!r}]; "
          "from budhitrade.daphne_server import BackpressureCommandLineInterface; "
          "BackpressureCommandLineInterface.entrypoint()")


def server_env() -> dict[str, str]:
    """What a daphne needs to serve this test database over the test's Redis, with the paper market always open."""
    database = settings.DATABASES["default"]
    port_part = f":{database['PORT']}" if database.get("PORT") else ""
    return {**os.environ, "PAPER_MARKET_HOURS": "always", "ENCRYPTION_KEY": ",".join(settings.ENCRYPTION_KEYS),
            "SECRET_KEY": settings.SECRET_KEY, "REDIS_URL": settings.REDIS_URL,
            "DATABASE_URL": f"postgres://{quote(database['USER'] or '', safe='')}:"
                            f"{quote(database.get('PASSWORD') or '', safe='')}@{quote(database['HOST'] or '', safe='')}"
                            f"{port_part}/{quote(database['NAME'], safe='')}"}


@pytest.fixture
def daphnes(market_redis):
    """Two daphne processes on this test database and Redis: their ports."""
    ports = [free_port(), free_port()]
    processes = [subprocess.Popen([sys.executable, "-c", LAUNCH, keys.PREFIX, "-b", "127.0.0.1", "-p", str(port),
                                   "budhitrade.asgi:application"], env=server_env(), stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for port in ports]

    def up(port):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            return False

    try:
        for process, port in zip(processes, ports):
            if not wait_for(lambda: up(port) or process.poll() is not None, timeout=60) or process.poll() is not None:
                process.kill()
                raise RuntimeError(f"daphne did not start: {process.stderr.read().decode()[-2000:]}")
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


@contextmanager
def market_socket(port, user, client_id):
    url = f"ws://127.0.0.1:{port}/ws/market/{client_id}?token={AccessToken.for_user(user)}"
    with websockets.sync.client.connect(url, open_timeout=WAIT) as ws:
        assert json.loads(ws.recv(timeout=WAIT))["type"] == "connection"
        yield ws


def recv_until(ws, wanted, where=lambda message: True):
    while True:
        message = json.loads(ws.recv(timeout=WAIT))
        if message["type"] == wanted and where(message):
            return message


def sync_subscribe(ws, *tokens):
    ws.send(subscribe_message(*tokens))
    status = recv_until(ws, "status", lambda m: m.get("event") == "subscribed")
    for _ in tokens:
        recv_until(ws, "market_data")
    return status


def process_of(r, client_id) -> str:
    return r.hget(keys.client_key(client_id), "process").decode()


def listening(r, key) -> int:
    """How many processes want `key` and listen on their process channel, where the feed sends it."""
    field = keys.want_field(keys.PAPER_STREAM, key)
    return sum(1 for process in r.smembers(keys.WANT_PROCESSES)
               if r.hexists(keys.want_key(process.decode()), field)
               and r.pubsub_numsub(keys.process_channel(process.decode()))[0][1] == 1)


def ticks_publish(r, key, text) -> int:
    """The feed's publish (feed_publish.ticks_publish's script), from this synchronous client."""
    return r.register_script(feed_publish._PUBLISH)(
        keys=[keys.WANT_PROCESSES, keys.last_key(keys.PAPER_STREAM)],
        args=[keys.PAPER_STREAM, keys.process_channel(""), keys.want_key(""), key, text])


def wanted_by(r, field) -> dict[str, bytes]:
    """Every live process that wants `field`, with its want."""
    wants = {}
    for process in r.smembers(keys.WANT_PROCESSES):
        value = r.hget(keys.want_key(process.decode()), field)
        if value is not None and r.exists(keys.process_key(process.decode())):
            wants[process.decode()] = value
    return wants


def test_two_processes_carry_an_instrument_while_either_wants_it_and_both_get_its_ticks(
        daphnes, user, paper_listing, market_redis):
    a, b = daphnes
    with market_socket(a, user, "on-a") as on_a, market_socket(b, user, "on-b") as on_b:
        sync_subscribe(on_a, "11536")
        sync_subscribe(on_b, "11536")
        process_a, process_b = process_of(market_redis, "on-a"), process_of(market_redis, "on-b")
        assert process_a != process_b
        assert wait_for(lambda: wanted_by(market_redis, TCS_WANT) == {process_a: b"2", process_b: b"2"}, WAIT)
        assert wait_for(lambda: listening(market_redis, TCS) == 2, WAIT)  # one Redis subscription per process

        assert ticks_publish(market_redis, TCS, tick(TCS, "3140.00")) == 2
        assert [ltp(recv_until(ws, "market_data")) for ws in (on_a, on_b)] == [Decimal("3140.00")] * 2

        on_a.send(subscribe_message("11536", action="unsubscribe"))
        assert recv_until(on_a, "status")["count"] == 0
        assert wait_for(lambda: wanted_by(market_redis, TCS_WANT) == {process_b: b"2"}, WAIT)
        assert wait_for(lambda: listening(market_redis, TCS) == 1, WAIT)
        assert ticks_publish(market_redis, TCS, tick(TCS, "3141.00")) == 1
        assert ltp(recv_until(on_b, "market_data")) == Decimal("3141.00")
        with pytest.raises(TimeoutError):
            on_a.recv(timeout=0.5)

        on_b.send(json.dumps({"action": "unsubscribe_all"}))
        assert recv_until(on_b, "status")["count"] == 0
        assert wait_for(lambda: wanted_by(market_redis, TCS_WANT) == {} and listening(market_redis, TCS) == 0, WAIT)


def test_a_client_id_is_one_users_across_processes(daphnes, user, other_user, paper_listing):
    a, b = daphnes
    with market_socket(b, user, "tab-1") as on_b:
        with pytest.raises(ConnectionClosed) as refused:  # accepted, then closed with the code
            with market_socket(a, other_user, "tab-1"):
                pass
        assert refused.value.rcvd.code == 4409
        assert sync_subscribe(on_b, "11536")["count"] == 1


def test_the_management_endpoints_on_one_process_see_and_disconnect_a_socket_on_the_other(
        daphnes, user, paper_listing):
    a, b = daphnes
    api = f"http://127.0.0.1:{a}/api/websocket"
    headers = {"Authorization": f"Bearer {AccessToken.for_user(user)}"}
    with market_socket(b, user, "on-b") as on_b:
        sync_subscribe(on_b, "11536", "2885")

        assert requests.get(f"{api}/status", headers=headers, timeout=WAIT).json() == {
            "active_connections": 1, "clients": ["on-b"]}
        assert requests.get(f"{api}/subscriptions/on-b", headers=headers, timeout=WAIT).json()["count"] == 2
        dropped = requests.post(f"{api}/unsubscribe", headers=headers, timeout=WAIT, json={
            "client_id": "on-b", "instrument_tokens": [{"instrument_token": "11536", "exchange_segment": "nse_cm"}]})
        assert dropped.status_code == 200 and dropped.json()["count"] == 1
        assert recv_until(on_b, "status", lambda m: m.get("event") == "unsubscribed")["count"] == 1

        gone = requests.post(f"{api}/disconnect/on-b", headers=headers, timeout=WAIT)
        assert gone.status_code == 200, gone.text
        assert recv_until(on_b, "status")["event"] == "disconnected"
        with pytest.raises(ConnectionClosed) as closed:
            on_b.recv(timeout=WAIT)
        assert closed.value.rcvd.code == 4000

    assert wait_for(lambda: requests.get(f"{api}/status", headers=headers, timeout=WAIT).json()["clients"] == [], WAIT)
