"""`manage.py serve`'s web: N daphne processes on one listening socket, and sockets hearing updates across them."""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import socket
import sys
import threading
from contextlib import contextmanager
from urllib.parse import quote

import pytest
import requests
from django.conf import settings
from django.core.management import CommandError, call_command
from honcho.printer import Printer
from rest_framework_simplejwt.tokens import AccessToken

from brokers.tests.fixtures import wait_for
from budhitrade.management.commands import serve
from budhitrade.supervisor import RestartingManager

# --- how serve builds its web processes ------------------------------------------------------------


def test_web_processes_are_named_in_turn_and_each_inherits_the_one_listener():
    manager = RestartingManager(printer=Printer(io.StringIO()))
    with serve.web_listener("127.0.0.1", 0) as listener:
        names = serve.web_processes_add(manager, python="python", listener=listener, count=3, env={})

        assert names == ["web.1", "web.2", "web.3"]
        for name in names:
            process = manager._processes[name]["obj"]
            assert process.cmd == f"python -m budhitrade.daphne_server --fd {listener.fileno()} budhitrade.asgi:application"
            assert process._child_ctor.keywords == {"pass_fds": (listener.fileno(),)}
        assert listener.get_inheritable()
        assert listener.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)


def test_web_processes_default_to_the_cores_and_follow_web_processes(monkeypatch):
    monkeypatch.delenv("WEB_PROCESSES", raising=False)
    assert serve.web_processes_default() == len(os.sched_getaffinity(0))

    monkeypatch.setenv("WEB_PROCESSES", "3")
    assert serve.web_processes_default() == 3


@pytest.mark.parametrize("setting", ["0", "two"])
def test_serve_refuses_a_web_process_count_that_is_not_a_positive_number(monkeypatch, setting):
    monkeypatch.setenv("WEB_PROCESSES", setting)

    with pytest.raises(CommandError, match="WEB_PROCESSES"):
        call_command("serve")


def test_a_process_keeps_only_the_descriptors_it_is_given(tmp_path):
    """honcho closes every inherited descriptor; `pass_fds` keeps the named ones open in the command."""
    given_read, given = os.pipe()
    other_read, other = os.pipe()
    report = tmp_path / "open.json"
    script = (f"import json, os; json.dump(sorted(int(fd) for fd in os.listdir('/proc/self/fd')), "
              f"open({str(report)!r}, 'w'))")
    manager = RestartingManager(printer=Printer(io.StringIO()), restart_min=30)
    manager.add_process("probe", f"{sys.executable} -c \"{script}\"", pass_fds=(given,))
    thread = threading.Thread(target=manager.loop, daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: report.exists() and report.read_text().endswith("]"), timeout=30)
    finally:
        manager.stop()
        thread.join(timeout=15)
        for fd in (given_read, given, other_read, other):
            os.close(fd)

    open_in_child = json.loads(report.read_text())
    assert given in open_in_child
    assert other not in open_in_child


# --- two real daphne processes on one socket ---------------------------------------------------------


def server_env() -> dict[str, str]:
    """What a daphne needs to serve this test database over the test's Redis."""
    database = settings.DATABASES["default"]
    env = dict(os.environ)
    port_part = f":{database['PORT']}" if database.get("PORT") else ""
    env["DATABASE_URL"] = (
        f"postgres://{quote(database['USER'] or '', safe='')}:{quote(database.get('PASSWORD') or '', safe='')}"
        f"@{quote(database['HOST'] or '', safe='')}{port_part}/{quote(database['NAME'], safe='')}")
    env["ENCRYPTION_KEY"] = ",".join(settings.ENCRYPTION_KEYS)
    env["SECRET_KEY"] = settings.SECRET_KEY
    return env


class WebProcesses:
    """Two web processes as `serve` runs them, under the supervisor, on one listening socket."""

    def __init__(self, manager: RestartingManager, output: io.StringIO, port: int):
        self.manager, self.output, self.port = manager, output, port
        self.base = f"http://127.0.0.1:{port}"

    def group(self, name: str) -> int:
        """The process group honcho started the named process in (its shell and daphne)."""
        return self.manager._processes[name]["pid"]

    @contextmanager
    def only(self, name: str):
        """Only `name` accepts connections meanwhile: every other web process is stopped (SIGSTOP), then resumed."""
        others = [other for other in ("web.1", "web.2") if other != name]
        for other in others:
            os.killpg(self.group(other), signal.SIGSTOP)
        try:
            yield
        finally:
            for other in others:
                os.killpg(self.group(other), signal.SIGCONT)

    def health(self) -> int:
        return requests.get(f"{self.base}/health", timeout=60).status_code


@pytest.fixture
def web_processes(db):
    if not settings.REDIS_URL:
        pytest.fail("The web processes' tests need Redis (REDIS_URL); `make test` starts one.")
    output = io.StringIO()
    manager = RestartingManager(printer=Printer(output), restart_min=0.2, restart_max=0.2)
    listener = serve.web_listener("127.0.0.1", 0)
    serve.web_processes_add(manager, python=sys.executable, listener=listener, count=2, env=server_env())
    thread = threading.Thread(target=manager.loop, daemon=True)
    thread.start()
    web = WebProcesses(manager, output, listener.getsockname()[1])
    try:
        assert wait_for(lambda: all(manager.running(name) for name in ("web.1", "web.2")), timeout=30), output.getvalue()
        for name in ("web.1", "web.2"):
            with web.only(name):
                assert web.health() == 200, output.getvalue()  # each has taken up the socket
        yield web
    finally:
        manager.stop()
        thread.join(timeout=30)
        listener.close()
    assert not thread.is_alive()


def test_each_web_process_serves_the_shared_socket_and_together_they_answer_every_request(web_processes):
    for name in ("web.1", "web.2"):
        with web_processes.only(name):
            assert [web_processes.health() for _ in range(10)] == [200] * 10

    assert [web_processes.health() for _ in range(20)] == [200] * 20
    assert all(web_processes.manager.running(name) for name in ("web.1", "web.2"))


def test_a_web_process_that_dies_is_started_again_on_the_same_socket(web_processes):
    manager = web_processes.manager
    with web_processes.only("web.2"):  # web.1 is down from here until it is back: web.2 answers meanwhile
        os.killpg(web_processes.group("web.1"), signal.SIGKILL)
        assert wait_for(lambda: manager.starts["web.1"] == 2 and manager.running("web.1"), timeout=30), \
            web_processes.output.getvalue()
        assert web_processes.health() == 200

    with web_processes.only("web.1"):
        assert web_processes.health() == 200  # the restarted process accepts on the socket it inherited again


@pytest.fixture
def paper_connection(user_api, paper_market, user):
    from brokers.models import BrokerConnection

    account_id = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]
    return BrokerConnection.objects.get(account_id=account_id)


@pytest.mark.django_db(transaction=True)
def test_an_order_placed_through_one_web_process_reaches_a_socket_on_the_other(web_processes, user,
                                                                                paper_connection):
    import websockets.sync.client

    from brokers.paper.models import PaperInstrument

    token = str(AccessToken.for_user(user))
    account_id = paper_connection.account_id
    price = PaperInstrument.objects.get(tradingsymbol="ITC").last_price
    with web_processes.only("web.1"):
        ws = websockets.sync.client.connect(
            f"ws://127.0.0.1:{web_processes.port}/ws/orders/{account_id}?token={token}", open_timeout=60)
    with ws:
        assert json.loads(ws.recv(timeout=30))["type"] == "connection"
        with web_processes.only("web.2"):  # the socket's process is stopped: the order can only go to the other
            placed = requests.post(
                f"{web_processes.base}/accounts/{account_id}/orders", timeout=60,
                headers={"Authorization": f"Bearer {token}"},
                json={"tradingsymbol": "ITC", "exchange": "NSE", "transaction_type": "BUY", "quantity": 5,
                      "order_type": "LIMIT", "product": "CNC", "price": str(price - 10)})
        assert placed.status_code == 200, placed.text + web_processes.output.getvalue()[-4000:]

        updates = []
        while not any(update["order_id"] == placed.json()["order_id"] for update in updates):
            updates.append(json.loads(ws.recv(timeout=30)))

    assert {(u["type"], u["account_id"]) for u in updates} == {("order_update", account_id)}
    assert updates[0]["status"] == "PENDING"  # sent by the other process before the broker answered


def test_the_web_container_runs_the_same_web_processes_as_serve():
    """docker-compose's web service and the image's default command are `serve --web-only`, on every interface."""
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parent.parent.parent
    compose = yaml.safe_load((repo / "docker-compose.yml").read_text())["services"]["web"]["command"]
    image = json.loads((repo / "Dockerfile").read_text().split("\nCMD ", 1)[1].splitlines()[0])

    for command in (shlex.split(compose), image):
        assert command[:3] == ["python", "manage.py", "serve"]
        options = serve.Command().create_parser("manage.py", "serve").parse_args(command[3:])
        assert (options.web_only, options.host, options.port) == (True, "0.0.0.0", 8000)


def test_serve_says_so_when_its_port_is_taken():
    with serve.web_listener("127.0.0.1", 0) as taken:
        with pytest.raises(CommandError, match="cannot listen on 127.0.0.1:"):
            serve.web_listener("127.0.0.1", taken.getsockname()[1])
