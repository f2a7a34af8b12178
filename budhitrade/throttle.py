"""A call budget shared by every process (through the cache, Redis when configured) that waits rather than fails."""

from __future__ import annotations

import functools
import threading
import time

import redis
from django.conf import settings
from django.core.cache import cache


@functools.cache
def _redis_for(url: str) -> redis.Redis:
    """One client (and connection pool) per process, shared by its threads."""
    return redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def window_count(key: str, *, ttl_seconds: int) -> int:
    """Count one more under `key` (created with a time-to-live) and return the count, in one round trip.

    With Redis configured every process shares the count; without, the
    process's own cache holds it.
    """
    if not settings.REDIS_URL:
        cache.add(key, 0, timeout=ttl_seconds)
        try:
            return cache.incr(key)
        except ValueError:  # it expired between the two calls: this is the first count of a new one
            cache.add(key, 1, timeout=ttl_seconds)
            return 1
    pipeline = _redis_for(settings.REDIS_URL).pipeline()  # MULTI/EXEC: the key never lives without its TTL
    pipeline.set(f"budhitrade:count:{key}", 0, ex=ttl_seconds, nx=True)
    pipeline.incr(f"budhitrade:count:{key}")
    return pipeline.execute()[1]


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
        used = window_count(f"throttle:{key}:{window}", ttl_seconds=int(window_seconds * 2) + 1)
        if used <= limit:
            return waited
        pause = (window + 1) * window_seconds - now
        if waited + pause > max_wait_seconds:
            raise ThrottleTimeout(f"{key}: no call budget within {max_wait_seconds:.0f} s")
        time.sleep(pause)
        waited += pause


# Reserve the next free slot of a spaced budget: slot = max(now, the key's next free time); the key then holds
# slot + interval. One round trip, atomic across processes.
_RESERVE_SLOT = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], string.format('%.6f', slot + interval), 'PX', math.ceil((slot + interval - now) * 1000) + 1000)
return string.format('%.6f', slot)
"""
_local_slots: dict[str, float] = {}
_local_slots_lock = threading.Lock()


def _reserve_slot(key: str, *, now: float, interval: float) -> float:
    if not settings.REDIS_URL:
        with _local_slots_lock:
            slot = max(now, _local_slots.get(key, 0.0))
            _local_slots[key] = slot + interval
            return slot
    client = _redis_for(settings.REDIS_URL)
    return float(client.eval(_RESERVE_SLOT, 1, f"budhitrade:space:{key}", repr(now), repr(interval)))


def throttle_space(*, key: str, limit: int, window_seconds: float, max_wait_seconds: float = 60.0) -> float:
    """Take one call from `limit` per `window_seconds` under `key`, spacing calls evenly: no two at less than
    window_seconds / limit apart, across every process. Returns the seconds waited.

    For budgets a broker counts over any sliding second (Kite's one quote
    request a second), where fixed windows would let two calls through a
    window edge milliseconds apart.
    """
    now = time.time()
    slot = _reserve_slot(key, now=now, interval=window_seconds / limit)
    pause = slot - now
    if pause > max_wait_seconds:
        raise ThrottleTimeout(f"{key}: no call budget within {max_wait_seconds:.0f} s")
    if pause > 0:
        time.sleep(pause)
    return max(0.0, pause)
