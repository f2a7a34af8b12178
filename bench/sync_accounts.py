"""Benchmark (a): the market-hours sync of many paper accounts, end to end.

Run by hand from the repository root, with the machine's PostgreSQL and Redis up:

    .venv/bin/python bench/sync_accounts.py --accounts 1000 --workers 2 --concurrency 32

What it measures is the product's own path: it sends the beat job
`portfolio.tasks.account_sync_due_task` (with `now=` inside a trading session)
to Redis; a real Celery worker runs it and it queues one
`portfolio.tasks.account_sync_task` per connected account; `--workers` real
`celery -A budhitrade worker --pool threads --concurrency N` processes, started
here with PAPER_LATENCY_SECONDS in their environment (each of a sync's three
broker calls, holdings, positions and funds, sleeps that long), run them
against PostgreSQL. A round is finished when every account's
`AccountSync.synced_at` is later than the round's start; its wall time is
from sending the beat job to the last `synced_at`. Each worker gets
DB_POOL_MAX_SIZE = `--db-pool` (default `--concurrency`), so no thread waits
for a pooled PostgreSQL connection.

Each account is a connected paper account with `--holdings` settled delivery
holdings and `--positions` open positions (an intraday equity buy and a NIFTY
future carried overnight) at the paper exchange, so every sync reads, prices
and writes real rows. Round 1 is each account's first sync (nothing stored
yet); later rounds are the steady state of the every-minute beat: the stored
snapshot is made one minute older (older than PORTFOLIO_FRESH_SECONDS), as the
next minute would find it, and the sync replaces it.

The script drops, creates and migrates the bench database (default
`budhitrade_bench`; its name must contain "bench") on every invocation, purges
the Celery queue in its Redis database (default 14) and stops the workers it
started on exit. One `RESULT` line per round goes to stdout.
"""

from __future__ import annotations

import argparse
import atexit
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from benchdb import database_recreate  # noqa: E402  (bench/ is the script's own folder)

REPO = Path(__file__).resolve().parent.parent
BENCH_USERNAME = "bench-sync"
ACCOUNT_PREFIX = "BS"
WORKERS: list[subprocess.Popen] = []
WORKER_LOGS: list[Path] = []


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="celery worker processes")
    parser.add_argument("--concurrency", type=int, default=32, help="threads per worker process")
    parser.add_argument("--db-pool", type=int, default=None,
                        help="DB_POOL_MAX_SIZE for each worker (PostgreSQL connections per process); default: --concurrency")
    parser.add_argument("--rounds", type=int, default=2, help="round 1 is the first sync, later rounds steady state")
    parser.add_argument("--latency", type=float, default=0.1, help="PAPER_LATENCY_SECONDS: seconds per broker call")
    parser.add_argument("--holdings", type=int, default=5, help="settled holdings per account (max 50)")
    parser.add_argument("--positions", type=int, default=2, choices=(0, 1, 2), help="open positions per account")
    parser.add_argument("--now", default="2026-11-24T11:00:00+05:30", help="the beat's `now` (a Tuesday in session)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/budhitrade_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--state-dir", default="/tmp/budhitrade-bench-sync", help="keys and worker logs")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up on a round after this many seconds")
    parser.add_argument("--quiet-threshold", type=float, default=0.15,
                        help="before a round, wait until the machine's CPU use is below this fraction")
    parser.add_argument("--quiet-patience", type=float, default=600.0, help="seconds to wait for a quiet machine")
    parser.add_argument("--worker-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the workers (experiments; the reported runs use none)")
    parser.add_argument("--worker-args", default="", help="extra arguments for every celery worker (quoted)")
    return parser.parse_args()


# --- setup ---------------------------------------------------------------------------------------

def _database_recreate(database_url: str) -> None:
    database_recreate(database_url)


def _django_setup(args: argparse.Namespace) -> None:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["REDIS_URL"] = args.redis_url
    os.environ["BUDHITRADE_STATE_DIR"] = args.state_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "budhitrade.settings.base"
    os.environ.setdefault("LOG_LEVEL", "WARNING")  # this process only; the workers log as the product does
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _connection_budget_check(args: argparse.Namespace) -> None:
    """Refuse to start workers whose threads would not all get a PostgreSQL connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
        in_use = cursor.fetchone()[0]
    # Each worker process holds at most its pool's connections (DB_POOL_MAX_SIZE); this script one more.
    needed = args.workers * args.db_pool + 1
    print(f"postgres: max_connections={max_connections}, in use={in_use}, "
          f"workers need up to {args.workers} x {args.db_pool} (DB_POOL_MAX_SIZE) + 1")
    if needed > max_connections - in_use:
        sys.exit(f"{args.workers} workers x {args.db_pool} pooled connections need {needed}; only "
                 f"{max_connections - in_use} are free. Lower --db-pool or raise max_connections.")


def _code_version() -> str:
    """The commit the workers run, and whether the work tree differs from it outside bench/."""
    def git(*words: str) -> str:
        return subprocess.run(["git", *words], cwd=REPO, capture_output=True, text=True).stdout.strip()

    changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench")
    return git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if changed else "")


def _market_open(now: datetime) -> None:
    from brokers.paper.market import market_create

    market_create(start=now)


def _accounts_create(*, count: int, holdings: int, positions: int) -> list[str]:
    """Create `count` connected paper accounts with their books at the paper exchange."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from brokers.models import BrokerConnection
    from brokers.paper.models import PaperAccount, PaperHolding, PaperInstrument, PaperPosition

    user = get_user_model().objects.create(username=BENCH_USERNAME)

    equities = list(PaperInstrument.objects.filter(instrument_type="EQ").order_by("token"))
    future = PaperInstrument.objects.filter(instrument_type="FUT", underlying="NIFTY").order_by("expiry").first()
    if holdings > len(equities):
        sys.exit(f"--holdings can be at most {len(equities)} (the catalogue's equities)")
    rng = random.Random(2026)
    now = timezone.now()
    with transaction.atomic():
        accounts = PaperAccount.objects.bulk_create(
            PaperAccount(account_id=f"{ACCOUNT_PREFIX}{number:08d}", opening_cash=Decimal("1000000"),
                         cash=Decimal("600000"))
            for number in range(count)
        )
        paper_holdings, paper_positions = [], []
        for account in accounts:
            for instrument in rng.sample(equities, holdings):
                paper_holdings.append(PaperHolding(
                    account=account, instrument=instrument, quantity=rng.randint(1, 200),
                    average_price=(instrument.last_price * Decimal(rng.uniform(0.8, 1.1))).quantize(Decimal("0.0001"))))
            if positions >= 1:  # an intraday equity buy today
                equity = rng.choice(equities)
                quantity = rng.randint(1, 100)
                paper_positions.append(PaperPosition(
                    account=account, instrument=equity, product="MIS", buy_quantity=quantity,
                    buy_value=(equity.last_price * quantity).quantize(Decimal("0.0001"))))
            if positions >= 2 and future is not None:  # a NIFTY future carried from yesterday
                paper_positions.append(PaperPosition(
                    account=account, instrument=future, product="NRML", overnight_quantity=future.lot_size,
                    overnight_price=(future.last_price * Decimal("0.995")).quantize(Decimal("0.0001"))))
        PaperHolding.objects.bulk_create(paper_holdings, batch_size=5000)
        PaperPosition.objects.bulk_create(paper_positions, batch_size=5000)
        connections = BrokerConnection.objects.bulk_create(
            BrokerConnection(id=uuid.uuid4(), user=user, broker="paper", account_id=account.account_id,
                             status="connected", credentials={}, session={}, options={},
                             last_connected_at=now)
            for account in accounts
        )
    return [str(connection.pk) for connection in connections]


# --- workers -------------------------------------------------------------------------------------

def _workers_start(args: argparse.Namespace) -> None:
    from budhitrade.celery import app

    app.control.purge()
    environment = dict(os.environ, PAPER_LATENCY_SECONDS=str(args.latency), DB_POOL_MAX_SIZE=str(args.db_pool),
                       PYTHONUNBUFFERED="1")  # log lines reach the file as they happen
    environment.pop("LOG_LEVEL", None)
    environment.update(item.split("=", 1) for item in args.worker_env)
    logs = Path(args.state_dir) / time.strftime("logs-%Y%m%d-%H%M%S")
    logs.mkdir(parents=True, exist_ok=True)
    print(f"worker logs: {logs}")
    WORKER_LOGS.append(logs)
    for number in range(args.workers):
        command = [str(REPO / ".venv/bin/celery"), "-A", "budhitrade", "worker", "--pool", "threads",
                   "--concurrency", str(args.concurrency), "-n", f"bench-sync-{number}@%h",
                   "--loglevel", "INFO", *args.worker_args.split()]
        log = open(logs / f"worker-{number}.log", "w")
        WORKERS.append(subprocess.Popen(command, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True))
    deadline = time.monotonic() + 60
    while True:
        replies = app.control.ping(timeout=0.5)
        names = {name for reply in replies for name in reply if name.startswith("bench-sync-")}
        if len(names) == args.workers:
            return
        for worker in WORKERS:
            if worker.poll() is not None:
                sys.exit(f"a worker exited with {worker.returncode}; see {logs}/worker-*.log")
        if time.monotonic() > deadline:
            sys.exit(f"workers not ready after 60 s ({sorted(names)}); see {logs}/worker-*.log")


def _worker_log_lines():
    for log in sorted(WORKER_LOGS[-1].glob("worker-*.log")):
        yield log, log.read_text(errors="replace").splitlines()


def _worker_errors_show() -> None:
    """Print the first errors the workers logged (a round that did not finish)."""
    for log, lines in _worker_log_lines():
        errors = [line for line in lines if "ERROR" in line or "Error" in line]
        print(f"{log}: {len(errors)} error lines", *errors[:5], sep="\n  ")


def _workers_stop() -> None:
    """Warm shutdown of the workers this script started; kill any that does not stop in 15 s."""
    for worker in WORKERS:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in WORKERS:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    WORKERS.clear()


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


# --- one round -----------------------------------------------------------------------------------

class _CpuMeter:
    """CPU seconds spent between start() and stop() by the machine, the workers, PostgreSQL, Redis, this
    script and everything else (another job on the machine makes a round slower; `other` shows it)."""

    def __init__(self) -> None:
        import psutil

        self.psutil = psutil

    def _sample(self) -> dict[str, float]:
        psutil = self.psutil
        totals = psutil.cpu_times()
        # guest time is already inside user time on Linux, so it is not added again.
        busy = sum(getattr(totals, field, 0.0) for field in ("user", "nice", "system", "irq", "softirq", "steal"))
        sample = {"machine_busy": busy, "machine_all": busy + totals.idle + getattr(totals, "iowait", 0.0),
                  "workers": 0.0, "postgres": 0.0, "redis": 0.0, "bench": 0.0}
        worker_pids = {worker.pid for worker in WORKERS}
        own_pid = os.getpid()
        for process in psutil.process_iter(["pid", "name"]):
            try:
                name = process.info["name"] or ""
                group = ("workers" if process.info["pid"] in worker_pids
                         else "bench" if process.info["pid"] == own_pid
                         else "postgres" if name.startswith("postgres")
                         else "redis" if name.startswith("redis-server") else None)
                if group:
                    # Children's times hold PostgreSQL backends that have exited (one per closed connection).
                    times = process.cpu_times()
                    sample[group] += times.user + times.system + times.children_user + times.children_system
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return sample

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> dict[str, float]:
        after = self._sample()
        used = {key: after[key] - self.before[key] for key in after}
        cores = self.psutil.cpu_count() or 1
        used["other"] = used["machine_busy"] - sum(used[key] for key in ("workers", "postgres", "redis", "bench"))
        used["busy_percent"] = 100.0 * used["machine_busy"] / used["machine_all"] if used["machine_all"] else 0.0
        used["cores"] = cores
        return used


def _machine_busy(seconds: float) -> float:
    """Fraction of the machine's CPU in use over the next `seconds`."""
    import psutil

    return psutil.cpu_percent(interval=seconds) / 100.0


def _quiet_wait(*, threshold: float, patience: float) -> bool:
    """Wait (up to `patience` s) for three quiet seconds in a row, so other jobs do not share the round's CPU."""
    deadline = time.monotonic() + patience
    quiet = 0
    while time.monotonic() < deadline:
        quiet = quiet + 1 if _machine_busy(1.0) < threshold else 0
        if quiet == 3:
            return True
    print(f"machine still busy after {patience:.0f} s; running anyway (see other_cpu_s)", flush=True)
    return False


def _round_run(*, connection_ids: list[str], now_iso: str, timeout: float) -> dict:
    from django.db.models import Max
    from django.utils import timezone

    from portfolio.models import AccountSync
    from portfolio.tasks import account_sync_due_task

    expected = len(connection_ids)
    sessions_before = _database_sessions()
    syncs = AccountSync.objects.filter(connection__user__username=BENCH_USERNAME)
    meter = _CpuMeter()
    meter.start()
    started = timezone.now()
    clock = time.monotonic()
    due = account_sync_due_task.delay(now=now_iso)
    done = 0
    while time.monotonic() - clock < timeout:
        done = syncs.filter(synced_at__gte=started).count()
        if done == expected:
            break
        time.sleep(0.1)
    seen = time.monotonic() - clock
    cpu = meter.stop()
    last = syncs.filter(synced_at__gte=started).aggregate(last=Max("synced_at"))["last"]
    failed = syncs.filter(last_attempt_at__gte=started).exclude(last_error="").count()
    queued = due.get(timeout=10)
    return {
        "connections_opened": _database_sessions() - sessions_before,
        "done": done, "expected": expected, "queued": queued, "failed": failed,
        "wall": (last - started).total_seconds() if last and done == expected else None,
        "seen": seen, "cpu": cpu, "beat_job": _beat_job_seconds(due.id),
    }


def _beat_job_seconds(task_id: str) -> float | None:
    """How long the beat job itself ran (queueing every sync), from the worker's `succeeded in` line."""
    for _, lines in _worker_log_lines():
        for line in lines:
            if task_id in line and "succeeded in " in line:
                return float(line.split("succeeded in ")[1].split("s:")[0])
    return None


def _database_sessions() -> int:
    """Connections ever opened to the bench database (PostgreSQL's pg_stat_database.sessions)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def _steady_state_prepare() -> None:
    """Age every stored snapshot by a minute, as the next beat minute would find it."""
    from django.db.models import F

    from portfolio.models import AccountSync

    AccountSync.objects.filter(connection__user__username=BENCH_USERNAME).update(
        synced_at=F("synced_at") - timedelta(minutes=1), last_attempt_at=F("last_attempt_at") - timedelta(minutes=1))


def _stored_rows() -> dict[str, int]:
    from portfolio.models import Funds, Holding, Position

    scope = {"connection__user__username": BENCH_USERNAME}
    return {"holdings": Holding.objects.filter(**scope).count(), "positions": Position.objects.filter(**scope).count(),
            "funds": Funds.objects.filter(**scope).count()}


def main() -> None:
    args = _arguments()
    args.db_pool = args.db_pool or args.concurrency
    Path(args.state_dir).mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _exit_on_signal)
    atexit.register(_workers_stop)
    _database_recreate(args.database_url)
    _django_setup(args)
    _connection_budget_check(args)
    print(f"code: {_code_version()}")
    now = datetime.fromisoformat(args.now)
    _market_open(now)
    clock = time.monotonic()
    connection_ids = _accounts_create(count=args.accounts, holdings=args.holdings, positions=args.positions)
    print(f"created {len(connection_ids)} paper accounts ({args.holdings} holdings, {args.positions} positions each) "
          f"in {time.monotonic() - clock:.1f} s")
    _workers_start(args)
    print(f"{args.workers} workers x {args.concurrency} threads ready; PAPER_LATENCY_SECONDS={args.latency}")
    try:
        for number in range(1, args.rounds + 1):
            if number > 1:
                _steady_state_prepare()
            _quiet_wait(threshold=args.quiet_threshold, patience=args.quiet_patience)
            result = _round_run(connection_ids=connection_ids, now_iso=args.now, timeout=args.timeout)
            cpu = result["cpu"]
            wall = result["wall"]
            rows = _stored_rows()
            print(
                f"RESULT accounts={args.accounts} workers={args.workers} concurrency={args.concurrency} db_pool={args.db_pool} "
                f"latency={args.latency} round={number} kind={'first' if number == 1 else 'steady'} "
                f"queued={result['queued']} synced={result['done']} failed={result['failed']} "
                f"beat_job_s={result['beat_job'] or float('nan'):.1f} "
                + (f"wall_s={wall:.2f} syncs_per_s={args.accounts / wall:.1f} " if wall else
                   f"wall_s=TIMEOUT({result['seen']:.0f}s) ")
                + f"cpu_busy={cpu['busy_percent']:.0f}%of{cpu['cores']} worker_cpu_s={cpu['workers']:.1f} "
                f"postgres_cpu_s={cpu['postgres']:.1f} redis_cpu_s={cpu['redis']:.1f} bench_cpu_s={cpu['bench']:.1f} "
                f"other_cpu_s={cpu['other']:.1f} pg_connections_opened={result['connections_opened']} "
                f"stored_holdings={rows['holdings']} stored_positions={rows['positions']} stored_funds={rows['funds']}",
                flush=True,
            )
            if not wall:
                _worker_errors_show()
                sys.exit(1)
    finally:
        _workers_stop()


if __name__ == "__main__":
    main()
