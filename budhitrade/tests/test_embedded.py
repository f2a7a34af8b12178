"""`python -m budhitrade.embedded CMD`: an embedded PostgreSQL and Redis for CMD, or the configured ones untouched."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from budhitrade.embedded import BASE_DIR

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
