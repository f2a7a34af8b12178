"""The web processes' daphne bounds each WebSocket's send buffer: a client that does not read makes its own send wait.

Each test starts a real daphne the way `serve` starts one (its web_command, on
an inherited listening socket) serving backpressure_app, which floods a socket
with 1 MiB messages and reports over HTTP how many of its sends have completed.
The client is a raw socket that finishes the WebSocket handshake and then reads
nothing. Plain daphne is the control: there every send completes at once and
the whole flood sits in the server's memory.
"""

from __future__ import annotations

import base64
import os
import shlex
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from brokers.tests.fixtures import wait_for
from budhitrade.management.commands import serve

APPLICATION = "budhitrade.tests.backpressure_app:application"
REPO = Path(__file__).resolve().parent.parent.parent
COUNT, SIZE = 64, 1024 * 1024  # 64 MiB in all: far more than a connection's kernel buffers hold
MIB_KIB = 1024


class FloodServer:
    """One daphne process serving backpressure_app on an inherited listening socket."""

    def __init__(self, command: str, listener: socket.socket, log: Path):
        self.port = listener.getsockname()[1]
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(shlex.split(command), cwd=REPO, pass_fds=(listener.fileno(),),
                                            stdout=output, stderr=subprocess.STDOUT)

    def progress(self, name: str = "") -> dict:
        return requests.get(f"http://127.0.0.1:{self.port}/progress", params={"name": name}, timeout=30).json()

    def answers(self) -> bool:
        try:
            return "rss_kib" in self.progress()
        except requests.ConnectionError:
            return False

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


def flood_server(command_for, tmp_path_factory):
    listener = serve.web_listener("127.0.0.1", 0)
    server = FloodServer(command_for(listener), listener, tmp_path_factory.mktemp("daphne") / "daphne.log")
    try:
        assert wait_for(server.answers, timeout=60), server.log.read_text()
        yield server
    finally:
        server.stop()
        listener.close()


@pytest.fixture(scope="module")
def backpressure_server(tmp_path_factory):
    """daphne as serve runs it: `python -m budhitrade.daphne_server --fd N <app>`."""
    yield from flood_server(lambda listener: serve.web_command(sys.executable, listener, application=APPLICATION),
                            tmp_path_factory)


@pytest.fixture(scope="module")
def plain_daphne(tmp_path_factory):
    yield from flood_server(lambda listener: f"{sys.executable} -m daphne --fd {listener.fileno()} {APPLICATION}",
                            tmp_path_factory)


def websocket_that_does_not_read(port: int, name: str) -> socket.socket:
    """A client socket past the WebSocket handshake that reads no frame (its receive buffer kept small)."""
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    client.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    client.sendall(f"GET /flood?name={name}&count={COUNT}&size={SIZE} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                   f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                   f"Sec-WebSocket-Version: 13\r\n\r\n".encode())
    response = b""
    while not response.endswith(b"\r\n\r\n"):  # a byte at a time: nothing past the handshake is read
        response += client.recv(1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return client


def send_waiting(server: FloodServer, name: str) -> dict | None:
    """The flood's progress once a send has been pending and nothing completed over a few polls; else None."""
    seen = []
    for _ in range(4):
        progress = server.progress(name)
        if not progress or progress["started"] != progress["completed"] + 1:
            return None
        seen.append(progress["completed"])
        time.sleep(0.2)
    return progress if len(set(seen)) == 1 else None


def drain(client: socket.socket) -> threading.Thread:
    def read():
        try:
            while client.recv(1024 * 1024):
                pass
        except OSError:
            pass

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


def test_a_client_that_does_not_read_makes_its_own_send_wait_and_the_server_memory_stays_bounded(
        backpressure_server):
    before = backpressure_server.progress()["rss_kib"]
    client = websocket_that_does_not_read(backpressure_server.port, "slow")
    try:
        waiting = {}
        assert wait_for(lambda: waiting.update(send_waiting(backpressure_server, "slow") or {}) or waiting,
                        timeout=30), backpressure_server.progress("slow")

        assert waiting["completed"] < COUNT // 4  # the kernel's buffers took a few; the app waits on the next
        assert waiting["rss_kib"] - before < COUNT * SIZE // 4 // 1024, (before, waiting)

        drain(client)  # the client reads: each waiting send goes on, to the last
        assert wait_for(lambda: backpressure_server.progress("slow")["finished"], timeout=60)
        assert backpressure_server.progress("slow")["completed"] == COUNT
    finally:
        client.close()


def test_the_connection_closing_releases_a_send_that_waits(backpressure_server):
    client = websocket_that_does_not_read(backpressure_server.port, "gone")
    assert wait_for(lambda: send_waiting(backpressure_server, "gone"), timeout=30)

    client.close()

    assert wait_for(lambda: backpressure_server.progress("gone")["finished"], timeout=30)


def test_a_fast_client_gets_every_message_in_order_through_the_gate(backpressure_server):
    import websockets.sync.client

    with websockets.sync.client.connect(
            f"ws://127.0.0.1:{backpressure_server.port}/flood?name=fast&count={COUNT}&size={SIZE}",
            max_size=2 * SIZE, open_timeout=30) as client:
        sizes = [len(client.recv(timeout=30)) for _ in range(COUNT)]

    assert sizes == [SIZE] * COUNT
    assert wait_for(lambda: backpressure_server.progress("fast")["finished"], timeout=30)


def test_plain_daphne_completes_every_send_at_once_and_holds_the_whole_flood_in_memory(plain_daphne):
    """The control: what budhitrade.daphne_server changes."""
    before = plain_daphne.progress()["rss_kib"]
    client = websocket_that_does_not_read(plain_daphne.port, "slow")
    try:
        assert wait_for(lambda: plain_daphne.progress("slow")["finished"], timeout=30)

        after = plain_daphne.progress("slow")
        assert after["completed"] == COUNT
        assert after["rss_kib"] - before > COUNT * SIZE // 2 // 1024, (before, after)
    finally:
        client.close()
