"""Order jobs asked for by the services, queued by task name (no import of the tasks), and coalesced in Redis.

A burst of updates on one account asks for one reconcile: a request while one
is queued joins it; a reconcile runs at once when none started in the last
ORDER_RECONCILE_INTERVAL_SECONDS, else at that interval's end; a running one
holds the account's lock, and one that finds it held waits its turn by
countdown; the lock holds the run's own token, and only that run gives it back.
Where the broker's pushes carry every change, the due reconcile asks for an
account with unfinished orders at most once per
ORDER_RECONCILE_BACKSTOP_SECONDS (a Redis mark). A fill asks for one position
refresh per (account, instrument) while one is queued. When Redis is down a
request is logged and dropped: the beat's due reconcile catches up, and no push
or request fails for it.
"""

from __future__ import annotations

import logging
import secrets
import time

from celery import current_app
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger("budhitrade.orders")
RECONCILE_TASK = "orders.tasks.order_reconcile_task"
POSITION_REFRESH_TASK = "orders.tasks.position_refresh_task"
# A queued mark outlives its countdown by this much, so a lost message blocks no later request for long.
QUEUED_GRACE_SECONDS = 60
# Longer than any reconcile takes (a few broker calls, each bounded by BROKER_TIMEOUT_SECONDS); a worker that died
# holding the lock holds it no longer than this.
RECONCILE_LOCK_SECONDS = 600
# Where the broker's pushes carry every change, an account with unfinished orders is reconciled at most this often
# all the same: a push lost after the exchange's commit (a process killed before its hooks ran) is repaired.
ORDER_RECONCILE_BACKSTOP_SECONDS = 600


def _queued_key(connection_id: str) -> str:
    return f"orders:reconcile:queued:{connection_id}"


def _started_key(connection_id: str) -> str:
    return f"orders:reconcile:started:{connection_id}"


def _lock_key(connection_id: str) -> str:
    return f"orders:reconcile:lock:{connection_id}"


def _backstop_key(connection_id: str) -> str:
    return f"orders:reconcile:backstop:{connection_id}"


def _send(name: str, args: list, countdown: float = 0) -> None:
    app = current_app
    if app.conf.task_always_eager:  # one process and no broker (no Redis configured): run it here
        app.loader.import_default_modules()
        app.tasks[name].apply(args=args)
        return
    app.send_task(name, args=args, countdown=countdown or None)


def reconcile_request(connection_id) -> bool:
    """Ask for a reconcile of one account; True when this request queued one (False: joined a queued one, or
    dropped because Redis is down)."""
    connection_id = str(connection_id)
    interval = settings.ORDER_RECONCILE_INTERVAL_SECONDS
    try:
        if not cache.add(_queued_key(connection_id), True, timeout=interval + QUEUED_GRACE_SECONDS):
            return False
        started = cache.get(_started_key(connection_id))
        countdown = max(0.0, started + interval - time.time()) if started else 0.0
        try:
            _send(RECONCILE_TASK, [connection_id], countdown)
        except Exception:
            cache.delete(_queued_key(connection_id))
            raise
    except Exception as error:  # Redis down: the due reconcile catches up
        logger.warning("order_reconcile_request_dropped", extra={"connection_id": connection_id,
                                                                 "reason": type(error).__name__})
        return False
    return True


def reconcile_begin(connection_id) -> int | None:
    """Take the account's reconcile lock; its token (give it to reconcile_end), or None when a reconcile is
    running (this one is queued again for after the interval). Requests made from now on queue the next one, as
    this run may read the books before their news. Without Redis the reconcile runs unlocked: two side by side are
    safe (orders are applied under a row lock), only wasteful."""
    connection_id = str(connection_id)
    interval = settings.ORDER_RECONCILE_INTERVAL_SECONDS
    token = secrets.randbelow(2**62) + 1  # an int: the cache stores it as its digits, which the release compares
    try:
        taken = cache.add(_lock_key(connection_id), token, timeout=RECONCILE_LOCK_SECONDS)
    except Exception as error:
        logger.warning("order_reconcile_lock_unavailable", extra={"connection_id": connection_id,
                                                                  "reason": type(error).__name__})
        return token
    if not taken:
        if not current_app.conf.task_always_eager:  # (run inline, the one holding the lock is this process's)
            _queue_again(connection_id, interval)
        return None
    try:
        cache.delete(_queued_key(connection_id))
        cache.set(_started_key(connection_id), time.time(), timeout=interval)
    except Exception as error:  # the marks lapse by themselves
        logger.warning("order_reconcile_lock_unavailable", extra={"connection_id": connection_id,
                                                                  "reason": type(error).__name__})
    return token


def _queue_again(connection_id: str, interval: int) -> None:
    """Queue the reconcile that found the lock held for the interval's end; when that fails, it is dropped (never
    run beside the holder): the due reconcile catches up."""
    try:
        cache.touch(_queued_key(connection_id), timeout=interval + QUEUED_GRACE_SECONDS)
        _send(RECONCILE_TASK, [connection_id], interval)
    except Exception as error:
        logger.warning("order_reconcile_request_dropped", extra={"connection_id": connection_id,
                                                                 "reason": type(error).__name__})
        try:
            cache.delete(_queued_key(connection_id))  # so the next request queues one
        except Exception:  # it lapses by itself
            pass


# Deletes the lock only while it still holds this run's token: a run whose lock lapsed never frees another's.
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


def reconcile_end(connection_id, token: int) -> None:
    """Give back the account's reconcile lock, if this run (its `token`) still holds it."""
    key = _lock_key(str(connection_id))
    try:
        backend = getattr(cache, "_cache", None)  # django's RedisCache keeps its redis client here
        if hasattr(backend, "get_client"):
            stored_key = cache.make_and_validate_key(key)
            backend.get_client(stored_key, write=True).eval(_RELEASE, 1, stored_key, token)
        elif cache.get(key) == token:  # without Redis: one process, nothing takes the lock in between
            cache.delete(key)
    except Exception as error:  # it lapses by itself
        logger.warning("order_reconcile_lock_unavailable", extra={"connection_id": str(connection_id),
                                                                  "reason": type(error).__name__})


def reconcile_backstop_request(connection_id) -> bool:
    """Where the broker's pushes carry every change: ask for a reconcile of an account with unfinished orders at
    most once per ORDER_RECONCILE_BACKSTOP_SECONDS, for the push a crash or a failing hook lost after the
    exchange's commit. True when this asked (it may join a queued reconcile)."""
    connection_id = str(connection_id)
    try:
        if not cache.add(_backstop_key(connection_id), True, timeout=ORDER_RECONCILE_BACKSTOP_SECONDS):
            return False
    except Exception as error:  # Redis down: no reconcile can be queued either
        logger.warning("order_reconcile_request_dropped", extra={"connection_id": connection_id,
                                                                 "reason": type(error).__name__})
        return False
    reconcile_request(connection_id)
    return True


def _position_key(connection_id: str, tradingsymbol: str) -> str:
    return f"orders:position-refresh:queued:{connection_id}:{tradingsymbol}"


def position_refresh_request(connection_id, tradingsymbol: str) -> bool:
    """After a fill: ask for the account's sync and the position's push, unless one is already queued for it."""
    connection_id = str(connection_id)
    try:
        if not cache.add(_position_key(connection_id, tradingsymbol), True, timeout=QUEUED_GRACE_SECONDS):
            return False
        try:
            _send(POSITION_REFRESH_TASK, [connection_id, tradingsymbol])
        except Exception:
            cache.delete(_position_key(connection_id, tradingsymbol))
            raise
    except Exception as error:  # Redis down: the next sync shows the position
        logger.warning("position_refresh_request_dropped", extra={"connection_id": connection_id,
                                                                  "reason": type(error).__name__})
        return False
    return True


def position_refresh_begin(connection_id, tradingsymbol: str) -> None:
    """The queued refresh starts: a fill from now on asks for another, as this one may sync before it."""
    try:
        cache.delete(_position_key(str(connection_id), tradingsymbol))
    except Exception:  # the mark lapses by itself
        pass
