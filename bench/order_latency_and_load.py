"""Order benchmarks, run by hand from the repository root with the machine's PostgreSQL and Redis up.

    .venv/bin/python bench/order_latency_and_load.py overhead --orders 200        # (a) time BudhiTrade adds to one order
    .venv/bin/python bench/order_latency_and_load.py load --clients 100 --seconds 60  # (b) concurrent clients through daphne
    .venv/bin/python bench/order_latency_and_load.py fill-latency --clients 200   # (c) paper fill -> WebSocket receipt

Every run drops, creates and migrates its bench database (a name with
"bench" in it), opens the paper market inside a trading session (its clock is
not advanced, so the session stays open) and uses paper accounts.

(a) overhead: with PAPER_LATENCY_SECONDS (default 0.05) on every paper broker
    call, alternately places a resting limit order by calling the paper
    adapter directly and by POSTing it to the API in-process (middleware, JWT,
    validation, the saved order and its events, the broker call, the
    channel-layer publish); reports both medians and the difference.
(b) load: one daphne process; `--clients` asyncio clients, each with its own
    user and paper account, place resting limit orders for `--seconds`;
    reports orders/s, p50 and p99, then checks every accepted order is stored
    exactly once and known to the paper exchange exactly once.
(c) fill-latency: `--clients` WebSocket clients on daphne, one per account,
    each with a resting limit order; this process then fills the orders one
    by one (as the market process would) and each client notes when its
    `order_update` COMPLETE arrives; latency is from just before the fill
    starts to receipt.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from benchdb import database_recreate  # noqa: E402  (bench/ is the script's own folder)

REPO = Path(__file__).resolve().parent.parent
SESSION_START = datetime.fromisoformat("2026-11-24T10:00:00+05:30")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def setup(args) -> None:
    database_recreate(args.database_url)
    os.environ.update(DATABASE_URL=args.database_url, REDIS_URL=args.redis_url, BUDHITRADE_STATE_DIR=args.state_dir,
                      DJANGO_SETTINGS_MODULE="budhitrade.settings.base", LOG_LEVEL="WARNING",
                      RATE_LIMIT_USER_PER_MINUTE="10000000", RATE_LIMIT_ANON_PER_MINUTE="10000000")
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    from brokers.paper.market import market_create

    call_command("migrate", verbosity=0, interactive=False)
    market_create(start=SESSION_START)


def paper_accounts(count: int, opening_cash: str = "100000000") -> list[tuple[object, str]]:
    """`count` users, each with a connected paper account: (user, account_id)."""
    from django.contrib.auth import get_user_model

    from brokers import services
    from brokers.domain import Broker

    made = []
    for number in range(count):
        user = get_user_model().objects.create(username=f"bench-orders-{number}")
        connection, _ = services.connection_initiate(user=user, broker=Broker.PAPER, credentials={},
                                                  options={"opening_cash": opening_cash})
        made.append((user, connection.account_id))
    return made


def resting_order(price: Decimal) -> dict:
    return {"tradingsymbol": "ITC", "exchange": "NSE", "transaction_type": "BUY", "quantity": 1,
            "order_type": "LIMIT", "product": "CNC", "price": str(price)}


def itc_below() -> Decimal:
    from brokers.paper.models import PaperInstrument

    return PaperInstrument.objects.get(tradingsymbol="ITC").last_price - Decimal("20")


# --- (a) ---------------------------------------------------------------------------------------

def overhead(args) -> None:
    from django.conf import settings
    from rest_framework.test import APIClient
    from rest_framework_simplejwt.tokens import AccessToken

    from brokers.adapters.paper.adapter import PaperAdapter
    from brokers.domain import OrderRequest

    settings.PAPER_LATENCY_SECONDS = args.latency
    [(user, account_id)] = paper_accounts(1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    adapter = PaperAdapter(credentials={}, session={}, account_id=account_id)
    body = resting_order(itc_below())
    request = OrderRequest(**{**body, "price": Decimal(body["price"]), "tag": ""})
    direct, via_api = [], []
    for number in range(args.warmup + args.orders):
        started = time.perf_counter()
        adapter.order_place(OrderRequest(**{**vars(request), "tag": f"direct{number}"}))
        middle = time.perf_counter()
        response = client.post(f"/accounts/{account_id}/orders", body, format="json")
        done = time.perf_counter()
        assert response.status_code == 200, response.content
        if number >= args.warmup:
            direct.append(middle - started)
            via_api.append(done - middle)
    ms = lambda seconds: seconds * 1000  # noqa: E731
    added = statistics.median(via_api) - statistics.median(direct)
    print(f"RESULT overhead orders={args.orders} latency={args.latency * 1000:.0f}ms "
          f"direct_p50={ms(statistics.median(direct)):.1f}ms api_p50={ms(statistics.median(via_api)):.1f}ms "
          f"added_p50={ms(added):.1f}ms api_p99={ms(percentile(via_api, 0.99)):.1f}ms "
          f"direct_p99={ms(percentile(direct, 0.99)):.1f}ms")


# --- a daphne to load ----------------------------------------------------------------------------

def start_daphne(args) -> tuple[subprocess.Popen, int]:
    from budhitrade.embedded_redis import free_port

    port = free_port()
    env = dict(os.environ)
    process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                "budhitrade.asgi:application"], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("daphne did not start")


# --- (b) ---------------------------------------------------------------------------------------

def accepted_check(accepted: list[str]) -> tuple[bool, bool]:
    """(every accepted order stored exactly once, known to the paper exchange exactly once under its tag)."""
    from brokers.paper.models import PaperOrder
    from orders.models import Order

    stored = Order.objects.filter(broker_order_id__in=accepted)
    known = PaperOrder.objects.filter(order_id__in=accepted)
    stored_once = stored.count() == len(accepted) == len(set(accepted))
    known_once = known.count() == len(accepted) and all(
        order.tag == stored_order.broker_tag
        for order, stored_order in zip(known.order_by("order_id"), stored.order_by("broker_order_id")))
    return stored_once, known_once


def load(args) -> None:
    import httpx
    from rest_framework_simplejwt.tokens import AccessToken

    from brokers.paper.models import PaperOrder
    from orders.models import Order

    accounts = [(str(AccessToken.for_user(user)), account_id) for user, account_id in paper_accounts(args.clients)]
    body = resting_order(itc_below())
    daphne, port = start_daphne(args)
    accepted: list[str] = []
    latencies: list[float] = []
    failures: dict[int, int] = {}

    async def client(token: str, account_id: str, until: float) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            while time.monotonic() < until:
                started = time.perf_counter()
                response = await http.post(f"/accounts/{account_id}/orders", json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code == 200:
                    accepted.append(response.json()["order_id"])
                else:
                    failures[response.status_code] = failures.get(response.status_code, 0) + 1

    async def run() -> float:
        started = time.monotonic()
        await asyncio.gather(*(client(token, account_id, started + args.seconds) for token, account_id in accounts))
        return time.monotonic() - started

    try:
        elapsed = asyncio.run(run())
    finally:
        daphne.terminate()
        daphne.wait(timeout=10)
    stored_once, known_once = accepted_check(accepted)
    ms = lambda seconds: seconds * 1000  # noqa: E731
    print(f"RESULT load clients={args.clients} seconds={elapsed:.1f} accepted={len(accepted)} "
          f"orders_per_s={len(accepted) / elapsed:.1f} p50={ms(statistics.median(latencies)):.0f}ms "
          f"p99={ms(percentile(latencies, 0.99)):.0f}ms failures={failures} "
          f"stored_exactly_once={stored_once} known_to_paper_exchange_exactly_once={known_once} "
          f"orders_in_db={Order.objects.count()} paper_orders={PaperOrder.objects.count()}")


# --- (c) ---------------------------------------------------------------------------------------

def fill_latency(args) -> None:
    import threading

    import websockets
    from rest_framework_simplejwt.tokens import AccessToken

    from brokers.domain import OrderChange, OrderRequest
    from brokers.models import BrokerConnection
    from brokers.paper.models import PaperInstrument
    from orders import services

    accounts = paper_accounts(args.clients)
    below = itc_below()
    orders = []
    for user, account_id in accounts:
        connection = BrokerConnection.objects.get(account_id=account_id)
        orders.append(services.order_place(connection=connection, request=OrderRequest(
            tradingsymbol="ITC", exchange="NSE", transaction_type="BUY", order_type="LIMIT", product="CNC",
            quantity=1, price=below)))
    daphne, port = start_daphne(args)
    received: dict[str, float] = {}
    ready = threading.Event()
    done = threading.Event()

    async def listen(user, account_id, order_id, connected: list, opening: asyncio.Semaphore) -> None:
        url = f"ws://127.0.0.1:{port}/ws/orders/{account_id}?token={AccessToken.for_user(user)}"
        async with opening:  # connect 10 at a time: a storm of 200 handshakes overruns one daphne's accept
            socket = await websockets.connect(url, open_timeout=60, max_queue=None)
            await socket.recv()
        async with socket:
            connected.append(1)
            if len(connected) == len(accounts):
                ready.set()
            while order_id not in received:
                message = json.loads(await socket.recv())
                if message.get("type") == "order_update" and message.get("status") == "COMPLETE":
                    received[order_id] = time.perf_counter()

    async def clients() -> None:
        connected: list = []
        opening = asyncio.Semaphore(10)
        await asyncio.gather(*(listen(user, account_id, order.broker_order_id, connected, opening)
                               for (user, account_id), order in zip(accounts, orders)))
        done.set()

    listener = threading.Thread(target=lambda: asyncio.run(clients()), daemon=True)
    listener.start()
    assert ready.wait(120), "not every client connected"
    started_at: dict[str, float] = {}
    above = PaperInstrument.objects.get(tradingsymbol="ITC").last_price + 1
    for order in orders:
        started_at[order.broker_order_id] = time.perf_counter()
        services.order_modify(order=order, change=OrderChange(price=above))
        time.sleep(1 / args.rate)
    done.wait(60)
    daphne.terminate()
    daphne.wait(timeout=10)
    latencies = [(received[key] - started_at[key]) * 1000 for key in started_at if key in received]
    print(f"RESULT fill_latency clients={args.clients} received={len(latencies)}/{len(orders)} "
          f"p50={statistics.median(latencies):.1f}ms p99={percentile(latencies, 0.99):.1f}ms "
          f"max={max(latencies):.1f}ms rate={args.rate}/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("benchmark", choices=["overhead", "load", "fill-latency"])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=20, help="fills per second in fill-latency")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/budhitrade_bench_orders")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--state-dir", default="/tmp/budhitrade-bench-orders")
    args = parser.parse_args()
    setup(args)
    {"overhead": overhead, "load": load, "fill-latency": fill_latency}[args.benchmark](args)


if __name__ == "__main__":
    main()
