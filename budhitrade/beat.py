"""Celery beat's scheduler: RedBeat, kept alive through a Redis outage.

RedBeat keeps the schedule in Redis behind a lock so that several beat
processes can run and only one sends tasks. Out of the box a Redis outage
ends beat: the lock renewal in every tick raises (a connection error while
Redis is away, "no longer owned" once the lock expired meanwhile) and
nothing in Celery's beat loop catches it. RedBeat's own `retry_period`
option retries only calls made on its client object, not the lock's renewal
or its pipelines, and then waits up to 30 s between tries; so this scheduler
catches what a tick raises instead.

Rules, enforced in `tick`:
- Redis unreachable: log `beat_redis_unavailable` once per outage, send
  nothing, and try again in REDIS_RETRY_SECONDS. Once it answers, the static
  schedule is installed again (a Redis restarted empty has lost it).
- The lock is not (or no longer) ours: take it without waiting when it is
  free; while another beat holds it, stand by and send nothing. A lock that
  was never taken (Redis was down at start, which RedBeat's start-up hook
  swallows) is treated the same way, so a beat never sends without the lock.
"""

from __future__ import annotations

import contextlib
import logging

import redis.exceptions
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, get_redis
from redbeat.schedulers import RedBeatScheduler as BaseRedBeatScheduler

logger = logging.getLogger("budhitrade.beat")

REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
REDIS_RETRY_SECONDS = 2.0


class RedBeatScheduler(BaseRedBeatScheduler):
    """RedBeat whose tick survives Redis going away and losing (or never getting) the lock."""

    _redis_down = False
    _reinstall = False

    def __init__(self, app, *args, **kwargs):
        # RedBeat looks for its keys among the conf's listed keys, which Django's CELERY_ namespace does not
        # list: it would warn, fall back to the broker's URL and drop its client options (the socket timeouts
        # that keep beat from hanging on a Redis that stopped answering). So they are set on the conf itself.
        url, options = app.conf.first("redbeat_redis_url"), app.conf.first("redbeat_redis_options")
        if url:
            app.conf.update(redbeat_redis_url=url, redbeat_redis_options=dict(options or {}))
        super().__init__(app, *args, **kwargs)

    def _take_lock(self) -> bool:
        """Take the lock if it is free; True when this beat holds it."""
        client = get_redis(self.app)
        lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
        # RedBeat's own extend script: renewal sets the expiry rather than adding to it.
        lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        if not lock.acquire(blocking=False):
            return False
        self.lock = lock
        self._reinstall = True
        logger.info("beat_lock_acquired")
        return True

    def _hold_lock(self) -> bool:
        """Renew the lock, or take it again when it was lost; False while another beat holds it."""
        if self.lock is not None:
            try:
                self.lock.extend(int(self.lock_timeout))
                return True
            except redis.exceptions.LockError:  # expired while Redis was away, maybe taken by another beat
                logger.warning("beat_lock_lost")
                self.lock = None
        return self._take_lock()

    def tick(self, min=min, **kwargs):
        try:
            if self.lock_key and not self._hold_lock():
                self._redis_back()
                return self.max_interval  # another beat sends; stand by
            if self._redis_down or self._reinstall:
                # Redis may have come back empty (a restart without persistence): put the static schedule
                # back; entries still there keep their last run, so nothing is sent twice.
                self.setup_schedule()
                self._reinstall = False
            interval = super().tick(min=min, **kwargs)  # renews the lock once more: one cheap round trip
        except redis.exceptions.LockError:  # lost between the two renewals: take it again next tick
            logger.warning("beat_lock_lost")
            self.lock = None
            return REDIS_RETRY_SECONDS
        except REDIS_ERRORS as error:
            if not self._redis_down:
                logger.warning("beat_redis_unavailable", extra={"error": type(error).__name__})
                self._redis_down = True
            return REDIS_RETRY_SECONDS
        self._redis_back()
        return interval

    def _redis_back(self) -> None:
        if self._redis_down:
            logger.info("beat_redis_available")
            self._redis_down = False

    def close(self):
        # Shutting down while Redis is away: the lock expires by itself.
        with contextlib.suppress(*REDIS_ERRORS, redis.exceptions.LockError):
            super().close()
        self.lock = None
