"""`python -m budhitrade.embedded CMD`: an embedded PostgreSQL and Redis for CMD, or the configured ones untouched."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest

from brokers.tests.fixtures import wait_for
from budhitrade.embedded import BASE_DIR, _one_line

# CMD for the runner: use both URLs it was handed, then say so.
USES_BOTH = """
import os, psycopg, redis
with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
    assert connection.execute("SELECT 1").fetchone() == (1,)
    database = connection.execute("SELECT current_database()").fetchone()[0]
    print("max_connections", connection.execute("SHOW max_connections").fetchone()[0])
assert redis.Redis.from_url(os.environ["REDIS_URL"]).ping()
print("connected", database, os.environ["DATABASE_URL"])
"""

# CMD for the runner: wait for SIGINT, note it, exit 3.
WAITS_FOR_SIGINT = """
import signal, sys, time
from pathlib import Path
def stop(signum, frame):
    Path(sys.argv[1]).write_text(signal.Signals(signum).name)
    sys.exit(3)
signal.signal(signal.SIGINT, stop)
print("waiting", flush=True)
time.sleep(120)
"""

# CMD for the runner: wait to be stopped.
WAITS = """
import time
print("waiting", flush=True)
time.sleep(120)
"""

# CMD for the runner: leave a client of the database running on its own (argv[1] gets its pid), then end.
LEAVES_A_CLIENT = """
import os, subprocess, sys, time
holder = subprocess.Popen([sys.executable, "-c", "import os, psycopg, sys, time\\n"
                           "connection = psycopg.connect(os.environ['DATABASE_URL'])\\n"
                           "open(sys.argv[1], 'w').write(str(os.getpid()))\\n"
                           "time.sleep(120)", sys.argv[1]], start_new_session=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
while not (os.path.exists(sys.argv[1]) and open(sys.argv[1]).read()):
    assert holder.poll() is None
    time.sleep(0.05)
"""


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def runner_env(state_dir: Path, **overrides) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "BUDHITRADE_STATE_DIR": str(state_dir), **overrides}


def run_runner(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "budhitrade.embedded", *args], env=env, cwd=BASE_DIR,
                          capture_output=True, text=True, timeout=120)


def test_the_command_gets_a_working_postgresql_and_redis_which_stop_when_it_ends(tmp_path):
    result = run_runner([sys.executable, "-c", USES_BOTH], runner_env(tmp_path / "state"))

    assert result.returncode == 0, result.stderr
    assert "connected budhitrade postgres://postgres@%2F" in result.stdout
    # room for every process's pool under `make run` (PostgreSQL's own default is 100)
    assert "max_connections 400" in result.stdout
    data_dir = tmp_path / "state" / "postgres"
    assert (data_dir / "PG_VERSION").exists()
    assert not (data_dir / "postmaster.pid").exists()  # the server was stopped with the command


def test_configured_urls_pass_through_untouched_and_nothing_is_started(tmp_path):
    database_url, redis_url = "postgres://nobody@127.0.0.1:1/elsewhere", "redis://127.0.0.1:1/9"
    env = runner_env(tmp_path / "state", DATABASE_URL=database_url, REDIS_URL=redis_url)

    result = run_runner([sys.executable, "-c", "import os; print(os.environ['DATABASE_URL'], os.environ['REDIS_URL'])"],
                        env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [database_url, redis_url]
    assert not (tmp_path / "state").exists()


def test_a_server_that_cannot_start_names_database_url_and_runs_nothing(tmp_path):
    state_file = tmp_path / "state"
    state_file.write_text("a file where the state dir should be")
    ran = tmp_path / "ran"

    result = run_runner([sys.executable, "-c", f"open({str(ran)!r}, 'w')"], runner_env(state_file))

    assert result.returncode == 1
    assert "could not start its embedded PostgreSQL" in result.stderr
    assert "set DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not ran.exists()


def test_sigint_to_the_runner_reaches_the_command_then_the_servers_stop(tmp_path):
    marker = tmp_path / "signal"
    runner = subprocess.Popen(
        [sys.executable, "-m", "budhitrade.embedded", sys.executable, "-c", WAITS_FOR_SIGINT, str(marker)],
        env=runner_env(tmp_path / "state"), cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        for line in runner.stdout:
            if line.strip() == "waiting":
                break
        runner.send_signal(signal.SIGINT)
        returncode = runner.wait(timeout=60)
    finally:
        runner.kill()

    assert returncode == 3, runner.stderr.read()
    assert marker.read_text() == "SIGINT"
    assert not (tmp_path / "state" / "postgres" / "postmaster.pid").exists()


def test_settings_without_database_url_say_how_to_get_a_database(tmp_path):
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=BASE_DIR,
                            env=runner_env(tmp_path, DJANGO_SETTINGS_MODULE="budhitrade.settings.base"),
                            capture_output=True, text=True, timeout=60)

    assert result.returncode != 0
    assert "DATABASE_URL is not set" in result.stderr
    assert "python -m budhitrade.embedded" in result.stderr


@pytest.mark.parametrize("name", ["migrate", "test", "run"])
def test_make_targets_go_through_the_runner(name):
    recipe = subprocess.run(["make", "-n", "-o", ".venv/.installed", name], cwd=BASE_DIR, capture_output=True,
                            text=True, check=True).stdout

    assert recipe.count("-m budhitrade.embedded") == 1  # `run`: every step under one runner, servers started once


def test_a_start_failure_keeps_the_error_itself_and_its_hint_on_one_line():
    error = psycopg.OperationalError(
        'connection failed: connection to server on socket "/s/.s.PGSQL.5432" failed: No such file or directory\n'
        "\tIs the server running locally and accepting connections on that socket?")

    assert _one_line(error) == ('connection failed: connection to server on socket "/s/.s.PGSQL.5432" failed: '
                                "No such file or directory; Is the server running locally and accepting "
                                "connections on that socket?")


def test_a_stale_postmaster_pid_naming_another_process_is_dropped_and_that_process_left_alone(tmp_path):
    """A pid reused after a kill -9 or a reboot: the runner must neither take it for the server nor stop it."""
    state = tmp_path / "state"
    assert run_runner(["true"], runner_env(state)).returncode == 0  # an initialised data dir, server stopped
    data_dir = state / "postgres"
    other = subprocess.Popen(["sleep", "120"])
    try:
        (data_dir / "postmaster.pid").write_text(
            f"{other.pid}\n{data_dir}\n{int(time.time())}\n5432\n{data_dir}\n\n  2515031     65595\nready   \n")

        result = run_runner([sys.executable, "-c", USES_BOTH], runner_env(state))

        assert result.returncode == 0, result.stderr
        assert "connected budhitrade" in result.stdout
        assert other.poll() is None  # untouched
        assert not (data_dir / "postmaster.pid").exists()  # the server it did start was stopped
    finally:
        other.kill()
        other.wait()


def test_a_killed_runner_takes_its_command_and_its_redis_with_it(tmp_path):
    state = tmp_path / "state"
    runner = subprocess.Popen([sys.executable, "-m", "budhitrade.embedded", sys.executable, "-c", WAITS],
                              env=runner_env(state), cwd=BASE_DIR, stdout=subprocess.PIPE, text=True)
    try:
        for line in runner.stdout:
            if line.startswith("waiting"):
                break
        children = {child.name(): child.pid for child in psutil.Process(runner.pid).children()}

        runner.send_signal(signal.SIGKILL)
        runner.wait(timeout=30)

        assert set(children) == {"redis-server", Path(sys.executable).name}, children
        assert wait_for(lambda: all(gone(pid) for pid in children.values()), timeout=10), children
    finally:
        runner.kill()
        runner.wait()
        # nothing holds the server any more: the next runner joins it and, last out, stops it
        stopper = run_runner(["true"], runner_env(state))
    assert stopper.returncode == 0, stopper.stderr
    assert not (state / "postgres" / "postmaster.pid").exists()


def test_the_last_runner_out_leaves_the_server_running_while_other_clients_are_connected(tmp_path):
    state, holder_pid = tmp_path / "state", tmp_path / "holder"
    try:
        result = run_runner([sys.executable, "-c", LEAVES_A_CLIENT, str(holder_pid)], runner_env(state))

        assert result.returncode == 0, result.stderr
        assert "left running: 1 other client connection(s) still open" in result.stderr
        assert (state / "postgres" / "postmaster.pid").exists()
    finally:
        if holder_pid.exists() and holder_pid.read_text():
            os.kill(int(holder_pid.read_text()), signal.SIGTERM)
            wait_for(lambda: gone(int(holder_pid.read_text())), timeout=30)
        # the client gone, the next runner out stops it
        stopper = run_runner(["true"], runner_env(state))
    assert stopper.returncode == 0, stopper.stderr
    assert "left running" not in stopper.stderr
    assert not (state / "postgres" / "postmaster.pid").exists()
