"""What the market feed must carry, read from the web processes' want hashes, and the lock that makes one feed.

Each web process (brokers/market/hub.py) writes the union of its sockets'
subscriptions to its want hash and keeps a heartbeat; the feed takes the
union over the processes whose heartbeat lives (the highest mode wins, an
instrument is an index if any process says so) and forgets the rest: a
process that died without cleaning up loses its wants with its heartbeat.

`plan` turns "wanted now" and "carried now" into the upstream calls to make,
holding an instrument (or its higher mode) GRACE seconds after the last
socket let go, so a reloading tab does not unsubscribe and resubscribe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from brokers.market import keys
from brokers.market.keys import StreamMode

# instrument key -> (highest mode, is an index), per stream
Wants = dict[str, tuple[StreamMode, bool]]

# KEYS: the lock. ARGV: this feed's token, ttl in ms. Renews the lock when it is ours, takes it when it is free.
_HOLD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
# KEYS: the lock. ARGV: this feed's token. Lets go only of our own lock.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class FeedLock:
    """keys.FEED_LOCK held under this feed's token: taken when free, renewed while ours (compare-and-renew)."""

    def __init__(self, redis, token: str) -> None:
        self.token = token
        self._hold = redis.register_script(_HOLD)
        self._release = redis.register_script(_RELEASE)

    async def hold(self, ttl_seconds: float) -> bool:
        return bool(await self._hold(keys=[keys.FEED_LOCK], args=[self.token, int(ttl_seconds * 1000)]))

    async def release(self) -> None:
        await self._release(keys=[keys.FEED_LOCK], args=[self.token])


async def demand_read(redis) -> dict[str, Wants]:
    """The union of every live web process's wants, per stream; a dead process's set entry and hash are removed."""
    processes = sorted(member.decode() for member in await redis.smembers(keys.WANT_PROCESSES))
    if not processes:
        return {}
    async with redis.pipeline(transaction=False) as pipe:
        for process in processes:
            pipe.exists(keys.process_key(process))
        alive = await pipe.execute()
    live = [process for process, exists in zip(processes, alive) if exists]
    dead = [process for process, exists in zip(processes, alive) if not exists]
    async with redis.pipeline(transaction=False) as pipe:
        for process in live:
            pipe.hgetall(keys.want_key(process))
        if dead:
            pipe.srem(keys.WANT_PROCESSES, *dead)
            pipe.delete(*(keys.want_key(process) for process in dead))
        answers = await pipe.execute()
    demand: dict[str, Wants] = {}
    for wants in answers[:len(live)]:
        for raw_field, raw_value in wants.items():
            stream, key = keys.split_want(raw_field.decode())
            segment, token = keys.split_key(key)
            if segment not in keys.SEGMENT_EXCHANGES or not token:
                continue  # nothing upstream could carry it; the web side validates what it writes
            mode, is_index = keys.parse_want(raw_value)
            held = demand.setdefault(stream, {}).get(key)
            if held is not None:
                mode, is_index = max(mode, held[0]), is_index or held[1]
            demand[stream][key] = (mode, is_index)
    return demand


@dataclass
class Plan:
    """The upstream calls that bring what is carried to what is wanted."""

    subscribe: dict[str, StreamMode] = field(default_factory=dict)  # key -> the mode to carry it at from now
    unsubscribe: list[str] = field(default_factory=list)


def plan(wanted: Wants, carried: dict[str, StreamMode], released: dict[str, float], *, now: float,
         grace: float) -> Plan:
    """New instruments and higher modes at once; dropped instruments and lower modes once `grace` seconds have
    passed since they were let go (`released`, key -> when, is kept up to date here)."""
    result = Plan()
    for key, (mode, _) in wanted.items():
        current = carried.get(key)
        if current is None or mode > current:
            result.subscribe[key] = mode
            released.pop(key, None)
        elif mode < current:
            if now - released.setdefault(key, now) >= grace:
                result.subscribe[key] = mode
                released.pop(key)
        else:
            released.pop(key, None)
    for key in carried:
        if key not in wanted and now - released.setdefault(key, now) >= grace:
            result.unsubscribe.append(key)
            released.pop(key)
    for key in [key for key in released if key not in carried]:
        del released[key]
    return result
