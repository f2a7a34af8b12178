"""A call budget shared by every process (through the cache, Redis when configured) that waits rather than fails."""

from __future__ import annotations

import time

from django.core.cache import cache


class ThrottleTimeout(Exception):
    """The budget stayed spent for longer than the caller would wait."""


def throttle_wait(*, key: str, limit: int, window_seconds: float, max_wait_seconds: float = 60.0) -> float:
    """Take one call from `limit` per fixed window under `key`, sleeping into the next window when spent.

    Returns the seconds waited. Fixed windows admit at most `limit` calls in
    any one window across all processes (up to 2x at a window edge, like the
    brokers' own per-second counters).
    """
    waited = 0.0
    while True:
        now = time.time()
        window = int(now // window_seconds)
        bucket = f"throttle:{key}:{window}"
        cache.add(bucket, 0, timeout=int(window_seconds * 2) + 1)
        try:
            used = cache.incr(bucket)
        except ValueError:  # the bucket expired between add and incr: take the next loop
            continue
        if used <= limit:
            return waited
        pause = (window + 1) * window_seconds - now
        if waited + pause > max_wait_seconds:
            raise ThrottleTimeout(f"{key}: no call budget within {max_wait_seconds:.0f} s")
        time.sleep(pause)
        waited += pause
