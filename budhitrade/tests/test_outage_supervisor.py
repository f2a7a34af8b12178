"""`manage.py serve`'s supervisor: a process that exits is started again; the others carry on."""

import contextlib
import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from honcho.printer import Printer

from budhitrade.supervisor import RestartingManager

REPO = Path(__file__).resolve().parent.parent.parent

# A supervisor in a process of its own (signals reach its main thread) with one child that writes its pid to argv[1].
SUPERVISES_ONE_CHILD = """
import sys
from honcho.printer import Printer
from budhitrade.supervisor import RestartingManager
manager = RestartingManager(printer=Printer(sys.stdout))
child = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(120)"
manager.add_process("child", f'{sys.executable} -c "{child}" {sys.argv[1]}')
manager.loop()
sys.exit(manager.returncode)
"""


def python(code: str) -> str:
    return f"{sys.executable} -c '{code}'"


def wait_for(condition, seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def run_in_background(manager: RestartingManager) -> threading.Thread:
    thread = threading.Thread(target=manager.loop, daemon=True)
    thread.start()
    return thread


def test_a_process_that_exits_is_restarted_and_the_others_keep_running():
    output = io.StringIO()
    manager = RestartingManager(printer=Printer(output), restart_min=0.1, restart_max=0.4)
    manager.add_process("beat", python("import sys; sys.exit(3)"))
    manager.add_process("web", python("import time; time.sleep(60)"))
    thread = run_in_background(manager)
    try:
        assert wait_for(lambda: manager.starts["beat"] >= 4), output.getvalue()
        assert manager.starts["web"] == 1
        assert manager.running("web")
    finally:
        manager.stop()
        thread.join(timeout=15)

    assert not thread.is_alive()
    assert not manager.running("web")  # stop() ends everything
    assert "beat exited (rc=3); restarting in 0.1 s" in output.getvalue()


def test_restarts_back_off_up_to_the_ceiling():
    output = io.StringIO()
    manager = RestartingManager(printer=Printer(output), restart_min=0.1, restart_max=0.4)
    manager.add_process("flaky", python("import sys; sys.exit(1)"))
    thread = run_in_background(manager)
    try:
        assert wait_for(lambda: manager.starts["flaky"] >= 5), output.getvalue()
    finally:
        manager.stop()
        thread.join(timeout=15)

    delays = [line.rsplit("restarting in ", 1)[1] for line in output.getvalue().splitlines() if "restarting in" in line]
    assert delays[:4] == ["0.1 s", "0.2 s", "0.4 s", "0.4 s"]


def test_a_process_that_stayed_up_restarts_after_the_shortest_backoff():
    output = io.StringIO()
    manager = RestartingManager(printer=Printer(output), restart_min=0.1, restart_max=0.4, stable_seconds=0.5)
    manager.add_process("worker", python("import time, sys; time.sleep(0.7); sys.exit(2)"))
    thread = run_in_background(manager)
    try:
        assert wait_for(lambda: manager.starts["worker"] >= 3), output.getvalue()
    finally:
        manager.stop()
        thread.join(timeout=15)

    delays = [line.rsplit("restarting in ", 1)[1] for line in output.getvalue().splitlines() if "restarting in" in line]
    assert delays[:2] == ["0.1 s", "0.1 s"]


def test_stop_ends_a_running_process_and_one_waiting_for_its_restart():
    output = io.StringIO()
    manager = RestartingManager(printer=Printer(output), restart_min=5, restart_max=5)
    manager.add_process("market", python("import sys; sys.exit(1)"))
    manager.add_process("orderfeed", python("import time; time.sleep(60)"))
    thread = run_in_background(manager)
    assert wait_for(lambda: "market exited" in output.getvalue() and manager.running("orderfeed"))

    manager.stop()
    thread.join(timeout=15)

    assert not thread.is_alive()
    assert manager.starts["market"] == 1  # its restart was still pending: not started again
    assert "orderfeed stopped" in output.getvalue()


@pytest.fixture
def supervised(tmp_path):
    """A supervisor in a process of its own with one child: (the supervisor, the child's pid)."""
    child_pid = tmp_path / "child"
    supervisor = subprocess.Popen([sys.executable, "-c", SUPERVISES_ONE_CHILD, str(child_pid)], cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: child_pid.exists() and child_pid.read_text())
        yield supervisor, int(child_pid.read_text())
    finally:
        supervisor.kill()
        supervisor.wait()
        if child_pid.exists() and child_pid.read_text() and not gone(int(child_pid.read_text())):
            os.kill(int(child_pid.read_text()), signal.SIGKILL)


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGQUIT])
def test_a_hangup_or_quit_stops_the_supervisor_and_its_children(supervised, signum):
    """honcho's children live in process groups of their own: the supervisor must stop them, not just die."""
    supervisor, child = supervised

    supervisor.send_signal(signum)
    output, _ = supervisor.communicate(timeout=30)

    assert supervisor.returncode == 128 + signum, output
    assert f"{signal.Signals(signum).name} received" in output
    assert "child stopped" in output
    assert wait_for(lambda: gone(child)), output


def test_a_burst_of_stop_signals_still_stops_the_supervisor_and_its_children(supervised):
    """Ctrl-C reaches serve from the terminal and from make run's runner, a service manager signals a whole group:
    signals come in twos and threes. A second one landing while the first is being handled must not hang it."""
    supervisor, child = supervised

    deadline = time.monotonic() + 3
    while supervisor.poll() is None and time.monotonic() < deadline:  # signals while earlier ones are handled
        with contextlib.suppress(ProcessLookupError):
            os.kill(supervisor.pid, signal.SIGINT)
    output, _ = supervisor.communicate(timeout=30)

    # 130 from the supervisor, or death by a SIGINT of the burst that came after it had stopped everything.
    assert supervisor.returncode in (128 + signal.SIGINT, -signal.SIGINT), output
    assert "SIGINT received" in output and "child stopped" in output
    assert wait_for(lambda: gone(child)), output
