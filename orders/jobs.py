"""Order jobs asked for by the services, queued by task name (no import of the tasks), and coalesced in Redis.

A burst of updates on one account asks for one reconcile: a request while one
is queued joins it; a reconcile runs at once when none started in the last
ORDER_RECONCILE_INTERVAL_SECONDS, else at that interval's end; a running one
holds the account's lock, and one that finds it held waits its turn by
countdown. A fill asks for one position refresh per (account, instrument)
while one is queued. When Redis is down a request is logged and dropped: the
beat's due reconcile catches up, and no push or request fails for it.
"""

from __future__ import annotations

import logging
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


def _queued_key(connection_id: str) -> str:
    return f"orders:reconcile:queued:{connection_id}"


def _started_key(connection_id: str) -> str:
    return f"orders:reconcile:started:{connection_id}"


def _lock_key(connection_id: str) -> str:
    return f"orders:reconcile:lock:{connection_id}"


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


def reconcile_begin(connection_id) -> bool:
    """Take the account's reconcile lock; False when a reconcile is running (this one is queued again for after
    the interval). Requests made from now on queue the next one, as this run may read the books before their
    news. Without Redis the reconcile runs unlocked: two side by side are safe (orders are applied under a row
    lock), only wasteful."""
    connection_id = str(connection_id)
    interval = settings.ORDER_RECONCILE_INTERVAL_SECONDS
    try:
        if not cache.add(_lock_key(connection_id), True, timeout=RECONCILE_LOCK_SECONDS):
            if not current_app.conf.task_always_eager:  # (run inline, the one holding the lock is this process's)
                cache.touch(_queued_key(connection_id), timeout=interval + QUEUED_GRACE_SECONDS)
                _send(RECONCILE_TASK, [connection_id], interval)
            return False
        cache.delete(_queued_key(connection_id))
        cache.set(_started_key(connection_id), time.time(), timeout=interval)
    except Exception as error:
        logger.warning("order_reconcile_lock_unavailable", extra={"connection_id": connection_id,
                                                                  "reason": type(error).__name__})
    return True


def reconcile_end(connection_id) -> None:
    """Give back the account's reconcile lock."""
    try:
        cache.delete(_lock_key(str(connection_id)))
    except Exception as error:  # it lapses by itself
        logger.warning("order_reconcile_lock_unavailable", extra={"connection_id": str(connection_id),
                                                                  "reason": type(error).__name__})


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
