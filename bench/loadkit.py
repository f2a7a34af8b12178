"""What the scale benchmarks share: the whole product under `manage.py serve`, and who used the CPU.

CPU is read from /proc: each process's own user + system ticks. The product's
processes are `manage.py serve` and its descendants, each named by its command
line (web, worker, beat, market, orderfeed; the supervisor, honcho's wrappers
and their shells are `supervisor`). `postgres` is the backends connected to
the bench database (their process title names it; the product's pools keep
them open, so few end mid-run). `redis` is the whole Redis server (it serves
every database number). `foreign` is what the machine spent on anything else:
other people's work (their PostgreSQL backends too), the noise of the run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
KINDS = ("web", "worker", "beat", "market", "orderfeed", "supervisor", "postgres", "redis", "load generator")
SHELLS = {"sh", "bash", "dash"}


def _proc_table() -> dict[int, tuple[str, int, int, int, str]]:
    """pid -> (name, parent pid, own CPU ticks, reaped children's ticks, command line)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                stat = handle.read()
            command = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        found[int(entry.name)] = (stat[stat.index("(") + 1:stat.rindex(")")], int(fields[1]),
                                  int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]), command)
    return found


def _product_kind(name: str, command: str) -> str:
    if name in SHELLS:
        return "supervisor"
    if "daphne" in command or "uvicorn" in command or "gunicorn" in command:
        return "web"
    if "celery" in command and " worker" in command:
        return "worker"
    if "celery" in command and " beat" in command:
        return "beat"
    if "paper_market" in command:
        return "market"
    if "order_feed" in command:
        return "orderfeed"
    return "supervisor"


def _descendants(table: dict, root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (_, parent, _, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, stack = set(), [root]
    while stack:
        pid = stack.pop()
        if pid in table and pid not in found:
            found.add(pid)
            stack.extend(children.get(pid, ()))
    return found


def product_pids(root: int) -> set[int]:
    """`root` and every process under it."""
    return _descendants(_proc_table(), root)


@dataclass
class CpuSample:
    at: float
    machine: int                 # busy ticks of the whole machine (all but idle and iowait)
    kinds: dict[str, int]        # ticks per kind, live processes
    web_processes: int           # web processes alive (python, not their shells)


def cpu_sample(*, product_pid: int, database: str) -> CpuSample:
    """Ticks used so far by the machine and by each kind of process (see the module's docstring)."""
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    table = _proc_table()
    product = _descendants(table, product_pid)
    kinds = dict.fromkeys(KINDS, 0)
    web = 0
    for pid, (name, parent, own, reaped, command) in table.items():
        if pid in product:
            kind = _product_kind(name, command)
            kinds[kind] += own
            web += kind == "web"
        elif pid == os.getpid():
            kinds["load generator"] += own
        elif name == "postgres" and f" {database} " in command:
            kinds["postgres"] += own
        elif name.startswith("redis-server"):
            kinds["redis"] += own
    return CpuSample(at=time.monotonic(), machine=sum(fields) - fields[3] - fields[4], kinds=kinds, web_processes=web)


def cpu_used(before: CpuSample, after: CpuSample) -> dict[str, float]:
    """CPU seconds per kind between two samples, plus `machine`, `foreign` (everyone else) and `wall`."""
    used = {kind: (after.kinds[kind] - before.kinds[kind]) / CLOCK_TICKS for kind in after.kinds}
    used["machine"] = (after.machine - before.machine) / CLOCK_TICKS
    used["foreign"] = max(0.0, used["machine"] - sum(used[kind] for kind in KINDS))
    used["wall"] = after.at - before.at
    return used


def quiet_wait(*, product_pid: int, database: str, limit: float, timeout: float) -> float:
    """Wait until everyone else uses fewer than `limit` cores over a second (at most `timeout` s); their cores."""
    started = time.monotonic()
    said = 0.0
    while True:
        before = cpu_sample(product_pid=product_pid, database=database)
        time.sleep(1.0)
        used = cpu_used(before, cpu_sample(product_pid=product_pid, database=database))
        foreign = used["foreign"] / used["wall"]
        waited = time.monotonic() - started
        if foreign < limit or waited > timeout:
            return foreign
        if waited >= said:
            print(f"  waiting: other processes use {foreign:.2f} cores", flush=True)
            said += 30


class Product:
    """`manage.py serve` (web, worker, beat, paper market, order feed) in a session of its own."""

    def __init__(self, *, repo: Path, port: int, env: dict[str, str], log: Path):
        self.port, self.log = port, log
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)], cwd=repo, env=env,
            stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self, *, timeout: float = 90) -> None:
        """Wait for /health to answer 200, then for the worker, beat, market and order feed to be up."""
        import httpx

        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                sys.exit(f"manage.py serve exited with {self.process.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"the product did not answer /health within {timeout:.0f} s; see {self.log}")
            time.sleep(0.2)
        while "Paper market running" not in self.log.read_text() or "ready." not in self.log.read_text():
            if time.monotonic() > deadline:
                sys.exit(f"the market or the worker did not start within {timeout:.0f} s; see {self.log}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Ctrl-C, as a user stops `make run`; whatever of it is left after 20 s is killed."""
        descendants = product_pids(self.process.pid)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
        for pid in descendants:  # honcho starts each command in a session of its own
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()
