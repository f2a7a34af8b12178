"""budhitrade.daphne_server writes a WebSocket's frames itself: each message arrives whole, in order, before the close.

A real daphne started as `serve` starts one serves frames_app, which sends
messages of every frame-header length (text and binary) without pausing and
then closes; a `websockets` client, which checks every frame it reads against
RFC 6455, must get each one exactly and then the app's close code.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest
import websockets.sync.client
from websockets.exceptions import ConnectionClosed

from budhitrade.management.commands import serve
from budhitrade.tests import frames_app
from budhitrade.tests.test_backpressure import flood_server

APPLICATION = "budhitrade.tests.frames_app:application"


@pytest.fixture(scope="module")
def frames_server(tmp_path_factory):
    yield from flood_server(lambda listener: serve.web_command(sys.executable, listener, application=APPLICATION),
                            tmp_path_factory)


def test_every_message_arrives_whole_and_in_order_then_the_close(frames_server):
    received = []
    with websockets.sync.client.connect(f"ws://127.0.0.1:{frames_server.port}/frames", max_size=2 ** 20,
                                        open_timeout=30) as client:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                received.append(client.recv(timeout=30))

    assert received == frames_app.MESSAGES
    assert closed.value.rcvd.code == frames_app.CLOSE_CODE


def test_a_text_framed_once_for_many_sockets_through_send_now_reaches_each_whole_and_in_order(frames_server):
    def read_all(client):
        received = []
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                received.append(client.recv(timeout=30))
        return received, closed.value.rcvd.code

    url = f"ws://127.0.0.1:{frames_server.port}/shared"
    with ExitStack() as stack:
        clients = [stack.enter_context(websockets.sync.client.connect(url, max_size=2 ** 20, open_timeout=30))
                   for _ in range(frames_app.SHARED)]
        with ThreadPoolExecutor(len(clients)) as pool:  # all read at once: a full client would hold the others
            results = list(pool.map(read_all, clients))

    assert results == [(frames_app.MESSAGES, frames_app.CLOSE_CODE)] * frames_app.SHARED
