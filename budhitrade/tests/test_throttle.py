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


def test_a_spent_budget_waits_for_the_next_window_or_gives_up(redis_configured):
    time.sleep(1.02 - time.time() % 1)  # just past a window's start, so four calls fit in one window
    started = time.time()
    for _ in range(3):
        throttle_wait(key="budget", limit=3, window_seconds=1)
    with pytest.raises(ThrottleTimeout):
        throttle_wait(key="budget", limit=3, window_seconds=1, max_wait_seconds=0)
    throttle_wait(key="budget", limit=3, window_seconds=1)

    assert int(time.time()) > int(started)
