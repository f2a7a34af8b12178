"""Benchmark: `GET /accounts/{id}/orders` with 200 stored orders against a plain Django view, on daphne.

Run by hand from the repository root, with the machine's PostgreSQL and Redis up:

    .venv/bin/python bench/order_book_throughput.py --profile 200

The load, its checks, the noise guard, the report and `--profile` are
bench/positions_throughput.py's (imported, not copied; its docstring tells how
they work); this script brings the order book's rows and endpoints. Its
`--conn-max-age` flag is not offered here: the product's settings keep a
per-process psycopg pool with CONN_MAX_AGE=0 (Django refuses a pool with
persistent connections), so the bench measures the settings as they are.

One daphne process serves `budhitrade.asgi:application` under `bench.settings`
with `/bench/plain-orders/<account_id>` (bench/plain_urls.py): a plain Django
function view that reads the same `Order` rows with `values()` and returns
them with `JsonResponse`, no DRF, no JWT, the same middleware.

The script drops, creates and migrates the bench database (default
`budhitrade_bench_orders`), flushes its Redis database (default 12), and seeds
one user with one connected paper account and `--orders` stored orders, written
straight to the database: complete, open, partly filled, cancelled, rejected
and not yet answered ones, market orders without a price, orders without
exchange times, and rejected ones the broker never numbered (their id is
BudhiTrade's). The account has no row at the paper exchange, so a request that
called the broker would fail: the list is served from the stored rows alone.
The API is asked for `?limit=<orders>`; both rate limits are raised so no
request is a 429. Before the load both endpoints must return the same rows,
field for field.
"""

from __future__ import annotations

import argparse
import functools
import os
from datetime import timedelta
from decimal import Decimal

import positions_throughput as throughput  # noqa: E402  (bench/ is the script's own folder)
from positions_throughput import BadResponse, _environment  # noqa: E402

BENCH_USERNAME = "bench-orders"
BENCH_ACCOUNT_ID = "BENCHORD1"


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections kept busy")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per endpoint per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds of API and plain, in ABBA order")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds per endpoint before measuring")
    parser.add_argument("--port", type=int, default=0, help="daphne's port; 0 picks a free one")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/budhitrade_bench_orders")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--state-dir", default="/tmp/budhitrade-bench-orders", help="keys and daphne's log")
    parser.add_argument("--quiet", type=float, default=0.1,
                        help="before each segment, wait until other processes use fewer cores than this")
    parser.add_argument("--quiet-timeout", type=float, default=300.0, help="but no longer than this many seconds")
    parser.add_argument("--noise", type=float, default=0.15,
                        help="a round where other processes used more cores than this in either segment is run again")
    parser.add_argument("--retries", type=int, default=8, help="rounds run again at most; 0 keeps noisy rounds")
    parser.add_argument("--profile", type=int, default=0, metavar="REQUESTS",
                        help="afterwards, profile this many API requests (and as many plain ones) inside daphne")
    args = parser.parse_args()
    args.conn_max_age = None  # the product's pool, as it is
    args.positions = args.orders  # the shared load loop checks each answer for this many rows
    return args


def _orders_seed(count: int) -> tuple[str, str]:
    """One user, one connected paper account with `count` stored orders in every state; its JWT."""
    import random

    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from brokers.domain import OrderStatus
    from brokers.models import BrokerConnection
    from orders.models import Order

    rng = random.Random(2026)
    now = timezone.now()
    states = (OrderStatus.COMPLETE, OrderStatus.COMPLETE, OrderStatus.OPEN, OrderStatus.OPEN, OrderStatus.CANCELLED,
              OrderStatus.REJECTED, OrderStatus.PENDING)
    with transaction.atomic():
        user = get_user_model().objects.create(username=BENCH_USERNAME)
        connection = BrokerConnection.objects.create(
            user=user, broker="paper", account_id=BENCH_ACCOUNT_ID, status="connected", credentials={},
            session={}, options={}, user_name="Bench Orders", last_connected_at=now)
        orders = []
        for number in range(count):
            status = states[number % len(states)]
            order_type = rng.choice(("MARKET", "LIMIT", "LIMIT", "SL"))
            quantity = rng.choice((1, 5, 10, 25, 50, 75, 100))
            price = Decimal(rng.uniform(50, 5000)).quantize(Decimal("0.05"))
            filled = {OrderStatus.COMPLETE: quantity, OrderStatus.CANCELLED: quantity // 2}.get(status, 0)
            if status == OrderStatus.OPEN and number % 3 == 0:
                filled = quantity // 3  # partly filled
            numbered = status not in (OrderStatus.PENDING,) and not (status == OrderStatus.REJECTED and number % 2)
            placed = now - timedelta(minutes=count - number, microseconds=rng.randint(0, 999999) * (number % 4 != 0))
            answered = status != OrderStatus.PENDING
            orders.append(Order(
                connection=connection, broker_order_id=f"26111600{number:06d}" if numbered else "",
                exchange_order_id=f"1100000{number:06d}" if numbered and answered else "",
                tradingsymbol=f"BENCH{number % 50:02d}", exchange=rng.choice(("NSE", "NFO")),
                transaction_type=rng.choice(("BUY", "SELL")), order_type=order_type,
                product=rng.choice(("CNC", "MIS", "NRML")), variety=rng.choice(("regular", "regular", "amo")),
                quantity=quantity, price=None if order_type == "MARKET" else price,
                trigger_price=(price - Decimal("1.5")) if order_type == "SL" else None,
                disclosed_quantity=quantity // 5 if number % 5 == 0 else 0,
                validity="TTL" if number % 11 == 0 else "DAY", validity_ttl=15 if number % 11 == 0 else None,
                tag=f"bench{number}" if number % 4 == 0 else "", broker_tag=f"bb{number:08d}", status=status,
                filled_quantity=filled,
                pending_quantity=quantity - filled if status in (OrderStatus.OPEN, OrderStatus.PENDING) else 0,
                cancelled_quantity=quantity - filled if status == OrderStatus.CANCELLED else 0,
                average_price=(price * Decimal(rng.uniform(0.99, 1.01))).quantize(Decimal("0.0001")) if filled else 0,
                status_message={OrderStatus.REJECTED: "RMS: margin exceeds available funds",
                                OrderStatus.COMPLETE: "Order executed"}.get(status, ""),
                order_timestamp=placed if answered else None,
                exchange_timestamp=placed + timedelta(milliseconds=40) if numbered and answered else None,
                exchange_update_timestamp=placed + timedelta(seconds=3) if filled else None))
        Order.objects.bulk_create(orders)
        for number, order in enumerate(orders):  # created_at is set on insert; newest first needs distinct ones
            Order.objects.filter(pk=order.pk).update(created_at=now - timedelta(seconds=count - number))
    return connection.account_id, str(AccessToken.for_user(user))


def _endpoints(account_id: str, token: str, *, orders: int) -> dict[str, tuple[str, dict]]:
    return {
        "API": (f"/accounts/{account_id}/orders?limit={orders}", {"Authorization": f"Bearer {token}"}),
        "plain": (f"/bench/plain-orders/{account_id}", {}),
    }


async def _same_rows(client, api: tuple[str, dict], plain: tuple[str, dict], rows: int) -> None:
    """Both endpoints answer 200 with the same `rows` orders, field for field."""
    api_body = (await client.get(api[0], headers=api[1])).raise_for_status().json()
    plain_body = (await client.get(plain[0], headers=plain[1])).raise_for_status().json()
    if api_body["count"] != rows or plain_body["count"] != rows:
        raise BadResponse(f"expected {rows} rows; API {api_body['count']}, plain {plain_body['count']}")
    if api_body["orders"] != plain_body["orders"]:
        different = next(index for index, (a, b) in enumerate(zip(api_body["orders"], plain_body["orders"]))
                         if a != b)
        raise BadResponse(f"the API and the plain view return different rows; first at {different}: "
                          f"{api_body['orders'][different]} != {plain_body['orders'][different]}")


def _backends(database_url: str) -> int:
    """The positions bench's count of the bench database's connections, or -1 when the server refuses one more
    (other work on the machine holds them): a count to report, not a reason to stop measuring."""
    import psycopg

    try:
        return counted_backends(database_url)
    except psycopg.OperationalError:
        return -1


counted_backends = throughput._backends


def main() -> None:
    args = _arguments()
    # The shared load loop, row check and profiler ask these for the endpoints and rows: the order book's.
    throughput._endpoints = functools.partial(_endpoints, orders=args.orders)
    throughput._same_rows = _same_rows
    throughput._backends = _backends
    _environment(args)
    # The profiling daphne imports bench.positions_throughput, which imports its sibling benchdb.
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(throughput.REPO / "bench"),
                                                             os.environ.get("PYTHONPATH")]))
    throughput.run(args, lambda: _orders_seed(args.orders), f"{args.orders} orders")


if __name__ == "__main__":
    main()
