"""Who holds which market socket, and what each one is subscribed to: in Redis, so every process sees it.

A socket's record (keys.client_key) names its user, the web process holding
it (alive while keys.process_key(process) exists) and the channel-layer
channel that reaches it; its subscriptions are a hash (instrument key ->
mode). The socket writes them (async, from the consumer); the management
endpoints read them and reach the socket through its channel (sync, from
DRF views). A record whose process is gone is stale: it is not listed, and
its client id may be taken by anyone.
"""

from __future__ import annotations

import time

import redis
import redis.asyncio as aioredis
from django.conf import settings

from brokers.market import keys

SOCKET_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 3, "health_check_interval": 15}

# KEYS: client, subs, user set, all set. ARGV: user id, process, channel, account, stream, connected_at, prefix.
# Returns "" when the id was free (or stale), the old channel when the same user held it, "taken" for another user.
_CLAIM = """
local held = redis.call('HMGET', KEYS[1], 'user', 'process', 'channel')
local old = ''
if held[1] then
  local alive = redis.call('EXISTS', ARGV[7] .. 'proc:' .. held[2]) == 1
  if alive and held[1] ~= ARGV[1] then return 'taken' end
  if alive then old = held[3] end
  redis.call('SREM', ARGV[7] .. 'user:' .. held[1] .. ':clients', ARGV[8])
end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'process', ARGV[2], 'channel', ARGV[3], 'account', ARGV[4],
           'stream', ARGV[5], 'connected_at', ARGV[6])
redis.call('SADD', KEYS[3], ARGV[8])
redis.call('SADD', KEYS[4], ARGV[8])
return old
"""

# KEYS: client, subs, user set, all set. ARGV: channel, client id. Only the socket that holds the record drops it.
_RELEASE = """
if redis.call('HGET', KEYS[1], 'channel') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('SREM', KEYS[4], ARGV[2])
return 1
"""


def async_client() -> aioredis.Redis:
    return aioredis.Redis.from_url(settings.REDIS_URL, **SOCKET_OPTIONS)


def _sync_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, **SOCKET_OPTIONS)


_sync: redis.Redis | None = None


def sync_client() -> redis.Redis:
    global _sync
    if _sync is None:
        _sync = _sync_client()
    return _sync


def _client_keys(client_id: str, user_id: int) -> list[str]:
    return [keys.client_key(client_id), keys.client_subscriptions_key(client_id), keys.user_clients_key(user_id),
            keys.ALL_CLIENTS]


# --- the socket's side (async) ------------------------------------------------------------------------------

async def client_claim(r: aioredis.Redis, *, client_id: str, user_id: int, process_id: str, channel: str,
                       account: str, stream: str) -> str:
    """Take `client_id` for this socket: "" if it was free, the old socket's channel if the same user held it
    (it is to be closed), "taken" if another user's live socket holds it (nothing changes)."""
    answer = await r.eval(_CLAIM, 4, *_client_keys(client_id, user_id), str(user_id), process_id, channel, account,
                          stream, str(int(time.time())), keys.PREFIX, client_id)
    return answer.decode() if isinstance(answer, bytes) else str(answer)


async def client_release(r: aioredis.Redis, *, client_id: str, user_id: int, channel: str) -> None:
    await r.eval(_RELEASE, 4, *_client_keys(client_id, user_id), channel, client_id)


async def subscriptions_set(r: aioredis.Redis, client_id: str, modes: dict[str, int]) -> None:
    if modes:
        await r.hset(keys.client_subscriptions_key(client_id), mapping={k: str(v) for k, v in modes.items()})


async def subscriptions_drop(r: aioredis.Redis, client_id: str, instrument_keys: list[str] | None = None) -> None:
    """Drop these instruments from the socket's record, or all of them."""
    if instrument_keys is None:
        await r.delete(keys.client_subscriptions_key(client_id))
    elif instrument_keys:
        await r.hdel(keys.client_subscriptions_key(client_id), *instrument_keys)


# --- the management endpoints' side (sync) ---------------------------------------------------------------------

def _decode(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _live(r: redis.Redis, records: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    processes = sorted({record["process"] for record in records.values() if record.get("process")})
    if not processes:
        return {}
    with r.pipeline(transaction=False) as pipe:
        for process in processes:
            pipe.exists(keys.process_key(process))
        alive = {process for process, found in zip(processes, pipe.execute()) if found}
    return {client_id: record for client_id, record in records.items() if record.get("process") in alive}


def _records(r: redis.Redis, client_ids: list[str]) -> dict[str, dict[str, str]]:
    with r.pipeline(transaction=False) as pipe:
        for client_id in client_ids:
            pipe.hgetall(keys.client_key(client_id))
        rows = pipe.execute()
    return {client_id: {_decode(k): _decode(v) for k, v in row.items()}
            for client_id, row in zip(client_ids, rows) if row}


def clients_list(*, user_id: int | None) -> list[str]:
    """The live market sockets' client ids: the user's, or everyone's (user_id None: staff)."""
    r = sync_client()
    listing = keys.ALL_CLIENTS if user_id is None else keys.user_clients_key(user_id)
    members = sorted(_decode(m) for m in r.smembers(listing))
    records = _records(r, members)
    gone = [client_id for client_id in members if client_id not in records]  # released without the set, or lost
    if gone:
        r.srem(listing, *gone)
    return sorted(_live(r, records))


def client_find(client_id: str, *, user_id: int | None) -> dict[str, str] | None:
    """A live socket's record, if it is the user's (any user's for user_id None); else None."""
    r = sync_client()
    found = _live(r, _records(r, [client_id])).get(client_id)
    if found is None or (user_id is not None and found.get("user") != str(user_id)):
        return None
    return found


def client_subscriptions(client_id: str) -> list[str]:
    """The socket's instrument keys, in a stable order."""
    return sorted(_decode(k) for k in sync_client().hkeys(keys.client_subscriptions_key(client_id)))


def client_subscriptions_drop(client_id: str, instrument_keys: list[str]) -> list[str]:
    """Drop these instruments from the record at once (the socket is told too); those it had."""
    r = sync_client()
    subs = keys.client_subscriptions_key(client_id)
    with r.pipeline(transaction=False) as pipe:
        for key in instrument_keys:
            pipe.hexists(subs, key)
        had = [key for key, found in zip(instrument_keys, pipe.execute()) if found]
    if had:
        r.hdel(subs, *had)
    return had
