"""EXPLAIN ANALYZE of the reconcile's order selection, old (Sum over every order's trades) against new
(traded_quantity and the partial indexes), on one PostgreSQL database seeded with many finished orders.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<a migrated scratch db> .venv/bin/python bench/reconcile_selection.py [finished open short]
"""
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import django  # noqa: E402
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "budhitrade.settings.base")
django.setup()
from django.db import connection as db
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from datetime import timedelta
from brokers.domain import FINAL_ORDER_STATUSES
from brokers.models import BrokerConnection
from django.contrib.auth import get_user_model
from orders.models import Order
from orders.reconcile import _books_know_more, _left_in_flight, orders_to_reconcile

FINISHED, OPEN, SHORT = (int(n) for n in (sys.argv[1:4] if len(sys.argv) > 3 else (200_000, 2_000, 50)))
user, _ = get_user_model().objects.get_or_create(username="explain")
conn, _ = BrokerConnection.objects.get_or_create(user=user, broker="zerodha", account_id="ZEXPLAIN",
                                                 defaults={"status": "connected"})
if not Order.objects.filter(connection=conn).exists():
    with db.cursor() as c:
        c.execute("""
        INSERT INTO orders_order (id, connection_id, broker_order_id, exchange_order_id, tradingsymbol, exchange,
          transaction_type, order_type, product, variety, quantity, disclosed_quantity, validity, tag, broker_tag,
          status, filled_quantity, traded_quantity, pending_quantity, average_price, status_message,
          cancelled_quantity, idempotency_key, cancel_when_found, created_at, updated_at)
        SELECT md5(random()::text || n)::uuid, %s, 'E' || n, '', 'INFY', 'NSE', 'BUY', 'LIMIT', 'CNC', 'regular', 10, 0,
          'DAY', '', 'bx' || n,
          CASE WHEN n <= %s THEN 'OPEN' ELSE 'COMPLETE' END,
          CASE WHEN n <= %s THEN 0 ELSE 10 END,
          CASE WHEN n <= %s + %s THEN 0 WHEN n <= %s THEN 0 ELSE 10 END,
          0, 0, '', 0, '', false, now() - (n || ' seconds')::interval, now()
        FROM generate_series(1, %s) n""", [conn.pk, OPEN, OPEN, OPEN, SHORT, OPEN, FINISHED + OPEN])
        c.execute("""INSERT INTO orders_trade (order_id, trade_id, quantity, price, exchange_order_id)
                     SELECT id, 'T' || broker_order_id, 10, 1500, '' FROM orders_order
                     WHERE connection_id = %s AND traded_quantity = 10""", [conn.pk])
        c.execute("ANALYZE orders_order; ANALYZE orders_trade;")

recent = timezone.now() - timedelta(days=2)
old = (Order.objects.annotate(traded=Coalesce(Sum("trades__quantity"), 0))
       .filter(~Q(status__in=FINAL_ORDER_STATUSES) | Q(created_at__gte=recent, filled_quantity__gt=F("traded")))
       .filter(connection=conn))
new = orders_to_reconcile(connection=conn)
connected = Order.objects.filter(connection__status="connected").order_by()
due_left = connected.filter(_left_in_flight()).values_list("connection_id", flat=True).distinct()
due_books = (connected.exclude(connection__broker__in=["paper"]).filter(_books_know_more())
             .values_list("connection_id", flat=True).distinct())
old_due = (Order.objects.filter(pk__in=old.values("pk"), connection__status="connected").order_by()
           .values_list("connection_id", flat=True).distinct())
for name, qs in (("old per account", old), ("new per account", new), ("old due", old_due),
                 ("new due: left in flight", due_left), ("new due: books know more", due_books)):
    qs = qs.order_by()
    plan = qs.explain(analyze=True)
    started = time.perf_counter(); rows = len(list(qs)); took = time.perf_counter() - started
    print(f"== {name}: {rows} rows, {took * 1000:.1f} ms fetched")
    print("\n".join(line for line in plan.splitlines() if "Scan" in line or "Execution" in line or "Bitmap" in line))
