"""Call budgets and rate-limit windows are counted once for every process, and their counters expire."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from budhitrade.throttle import ThrottleTimeout, throttle_wait, window_count

REPO = Path(__file__).resolve().parents[2]
COUNT_IN_ANOTHER_PROCESS = """
import django
django.setup()
from budhitrade.throttle import window_count
for _ in range(7):
    last = window_count("shared-window", ttl_seconds=30)
print(last)
"""


@pytest.fixture
def redis_configured(settings):
    if not settings.REDIS_URL:
        pytest.fail("these tests need REDIS_URL (the test command starts an embedded Redis)")
    return redis.Redis.from_url(settings.REDIS_URL)


def test_a_count_is_shared_with_another_process(redis_configured, settings):
    assert window_count("shared-window", ttl_seconds=30) == 1

    other = subprocess.run([sys.executable, "-c", COUNT_IN_ANOTHER_PROCESS], cwd=REPO, capture_output=True,
                           text=True, timeout=60,
                           env={**os.environ, "DJANGO_SETTINGS_MODULE": "budhitrade.settings.base",
                                "REDIS_URL": settings.REDIS_URL})

    assert other.returncode == 0, other.stderr
    assert other.stdout.split()[-1] == "8"
    assert window_count("shared-window", ttl_seconds=30) == 9


def test_a_counter_expires_with_its_window(redis_configured):
    window_count("expiring", ttl_seconds=5)
    window_count("expiring", ttl_seconds=5)

    assert 0 < redis_configured.ttl("budhitrade:count:expiring") <= 5


def test_without_redis_the_django_cache_counts(settings):
    settings.REDIS_URL = ""

    assert [window_count("local", ttl_seconds=5) for _ in range(3)] == [1, 2, 3]


def _within_one_window(calls) -> bool:
    """Run `calls` just after a one-second window opens; False if they ran over into the next window."""
    time.sleep(1.02 - time.time() % 1)
    window = int(time.time())
    calls()
    return int(time.time()) == window


def test_a_spent_budget_gives_up_at_once_or_waits_for_the_next_window(redis_configured):
    outcomes = []

    def spend(key):
        def calls():
            for _ in range(3):
                throttle_wait(key=key, limit=3, window_seconds=1)
            try:
                throttle_wait(key=key, limit=3, window_seconds=1, max_wait_seconds=0)
                outcomes.append("admitted")
            except ThrottleTimeout:
                outcomes.append("refused")
        return calls

    # a slow machine may cross into the next window mid-way; such a run proves nothing, so it is run again
    assert any(_within_one_window(spend(f"budget-{attempt}")) for attempt in range(5))
    assert outcomes[-1] == "refused"
    waits = []
    assert any(_within_one_window(lambda: waits.append(throttle_wait(key=f"waits-{attempt}", limit=1,
                                                                      window_seconds=1)))
               for attempt in range(5))
    assert waits[-1] == 0
    started = time.time()
    assert throttle_wait(key=f"waits-{len(waits) - 1}", limit=1, window_seconds=1) > 0  # paced into the next
    assert int(time.time()) > int(started)
