"""Users, API clients and connections for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from datetime import date, datetime
from datetime import time as day_time
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from brokers.calendar import IST
from budhitrade.embedded_redis import free_port


@pytest.fixture
def make_user(db):
    counter = {"n": 0}

    def make(username: str | None = None, **extra):
        counter["n"] += 1
        return get_user_model().objects.create_user(
            username=username or f"trader{counter['n']}", password="s3cure-Passw0rd", **extra
        )

    return make


@pytest.fixture
def user(make_user):
    return make_user("asha")


@pytest.fixture
def other_user(make_user):
    return make_user("ravi")


def bearer(user) -> str:
    return f"Bearer {AccessToken.for_user(user)}"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def client_for():
    def make(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=bearer(user))
        return client

    return make


@pytest.fixture
def user_api(client_for, user):
    return client_for(user)


@pytest.fixture
def other_api(client_for, other_user):
    return client_for(other_user)


# --- Recorded broker wire responses -----------------------------------------
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import responses as responses_lib  # noqa: E402

ADAPTER_TESTS = Path(__file__).resolve().parent / "adapters"
KITE_ROOT = "https://api.kite.trade"


def wire_body(broker: str, name: str) -> dict:
    """A recorded response body from brokers/tests/adapters/<broker>/resources/."""
    return json.loads((ADAPTER_TESTS / broker / "resources" / name).read_text())


class KiteWire:
    """Kite Connect's HTTP API as recorded responses, served to the real kiteconnect SDK."""

    def __init__(self, mock: responses_lib.RequestsMock):
        self.mock = mock

    def reply(self, method: str, path: str, fixture: str, status: int = 200):
        return self.mock.add(
            method, f"{KITE_ROOT}{path}", json=wire_body("zerodha", fixture), status=status
        )

    def reply_csv(self, path: str, fixture: str):
        """A CSV answer (Kite's instrument dump), as Kite serves it."""
        body = (ADAPTER_TESTS / "zerodha" / "resources" / fixture).read_bytes()
        return self.mock.add("GET", f"{KITE_ROOT}{path}", body=body, content_type="text/csv")

    def fail(self, method: str, path: str, error: Exception):
        return self.mock.add(method, f"{KITE_ROOT}{path}", body=error)

    def calls(self, path: str):
        return [call for call in self.mock.calls if call.request.url.split("?")[0].endswith(path)]


@pytest.fixture
def kite_wire():
    with responses_lib.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield KiteWire(mock)


import re  # noqa: E402

import httpx  # noqa: E402

NEO_LOGIN_HOST = "https://mis.kotaksecurities.com"
NEO_TRADE_HOST = "https://e43.kotaksecurities.com"
NEO_CONFIG_URL = "https://lapi.kotaksecurities.com/5config/config"


class NeoWire:
    """Kotak Neo's HTTP API as recorded responses, served to the real NeoAPI through its transport."""

    def __init__(self):
        self.routes: dict[tuple[str, str], object] = {}
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)
        self.reply("GET", NEO_CONFIG_URL, "config_service.json")

    def reply(self, method: str, url: str, fixture: str, status: int = 200):
        self.routes[(method, url)] = (status, wire_body("kotak_neo", fixture))

    def reply_file(self, url: str, fixture: str, status: int = 200):
        """A file download (a scrip master CSV), as bytes."""
        self.routes[("GET", url)] = (status, (ADAPTER_TESTS / "kotak_neo" / "resources" / fixture).read_bytes())

    def fail(self, method: str, url: str, error: type[httpx.TransportError]):
        self.routes[(method, url)] = error

    def serve_scrip_master(self, file_list: str = "scrip_master_file_paths.json") -> dict[str, str]:
        """Kotak's scrip master file list and each listed segment's recorded CSV (scrip_master_<segment>.csv).

        Returns each segment's file address, by segment.
        """
        self.reply("GET", f"{NEO_TRADE_HOST}/script-details/1.0/masterscrip/file-paths", file_list)
        urls = {}
        for url in wire_body("kotak_neo", file_list)["data"]["filesPaths"]:
            segment = re.split(r"[.-]", url.rsplit("/", 1)[-1], maxsplit=1)[0]
            urls[segment] = url
            if (ADAPTER_TESTS / "kotak_neo" / "resources" / f"scrip_master_{segment}.csv").exists():
                self.reply_file(url, f"scrip_master_{segment}.csv")
        return urls

    def calls(self, url: str) -> list[httpx.Request]:
        return [r for r in self.requests if str(r.url).split("?")[0] == url]

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, str(request.url).split("?")[0]))
        if route is None:
            return httpx.Response(404, json={"error": [{"code": "404", "message": "no recorded response"}]})
        if isinstance(route, type) and issubclass(route, Exception):
            raise route("recorded failure", request=request)
        status, body = route
        if isinstance(body, bytes):
            return httpx.Response(status, content=body, headers={"Content-Type": "text/csv"})
        return httpx.Response(status, json=body)


@pytest.fixture
def neo_wire(settings):
    wire = NeoWire()
    settings.KOTAK_NEO_TRANSPORT = wire.transport
    return wire


# --- The paper exchange ---------------------------------------------------------------------

PAPER_START_DAY = date(2026, 11, 16)  # a Monday; NIFTY's weekly and monthly expiry is Tuesday 24 Nov


def ist(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, day_time(hour, minute, second), IST)


@pytest.fixture
def paper_market(db):
    """The paper exchange opened at 09:15 IST on PAPER_START_DAY with a fixed seed."""
    from brokers.paper import market

    return market.market_create(start=ist(PAPER_START_DAY, 9, 15), seed=11)


@pytest.fixture
def paper_account(db):
    from brokers.paper.models import PaperAccount

    return PaperAccount.objects.create(account_id="PA00000001", opening_cash=Decimal("1000000"))


# --- A running daphne ---------------------------------------------------------------------------

@pytest.fixture
def live_daphne():
    """daphne serving this test database, over the test's Redis when there is one."""
    database = settings.DATABASES["default"]
    env = dict(os.environ)
    # The test database, on the same server: a host that is a socket dir (the embedded PostgreSQL) is
    # percent-encoded, and a port only when there is one.
    port_part = f":{database['PORT']}" if database.get("PORT") else ""
    env["DATABASE_URL"] = (
        f"postgres://{quote(database['USER'] or '', safe='')}:{quote(database.get('PASSWORD') or '', safe='')}"
        f"@{quote(database['HOST'] or '', safe='')}{port_part}/{quote(database['NAME'], safe='')}"
    )
    env["ENCRYPTION_KEY"] = ",".join(settings.ENCRYPTION_KEYS)
    env["SECRET_KEY"] = settings.SECRET_KEY
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "budhitrade.daphne_server", "-b", "127.0.0.1", "-p", str(port), "budhitrade.asgi:application"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(f"daphne did not start: {process.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    yield port
    process.terminate()
    process.wait(timeout=10)


# --- A Celery worker ----------------------------------------------------------------------------

@pytest.fixture
def celery_worker(transactional_db):
    """Celery's test worker (threads) on the suite's Redis: tasks queued by the code under test really run."""
    from celery.contrib.testing.worker import start_worker

    from budhitrade.celery import app

    if not settings.REDIS_URL:
        pytest.fail("Tests with a Celery worker need Redis (REDIS_URL); `make test` starts one.")
    app.control.purge()
    with start_worker(app, pool="threads", concurrency=4, perform_ping_check=False, shutdown_timeout=30):
        yield


def wait_for(condition, timeout: float = 20.0) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


from brokers.adapters.base import BrokerAdapter  # noqa: E402
from brokers.domain import Broker  # noqa: E402


class StubAdapter(BrokerAdapter):
    """A hand-written broker for service tests: no login, an empty portfolio; a test's subclass answers the rest."""

    broker = Broker.ZERODHA

    def login_start(self, *, otp="", state=""):
        raise NotImplementedError

    def logout(self):
        pass

    def holdings(self):
        return []

    def positions(self):
        return []

    def funds(self):
        return []
