"""The market stream's vocabulary: Kotak's segment names, stream modes, and every Redis key and channel it uses.

One place names them, so the web processes (brokers/market/hub.py), the
management endpoints and the market-feed process (brokers/market/feed.py)
read and write the same state.
"""

from __future__ import annotations

from enum import IntEnum

from django.conf import settings

# Seed 002's exchange segments (Kotak's names), taken for every broker, and BudhiTrade's exchange for each.
SEGMENT_EXCHANGES: dict[str, str] = {
    "nse_cm": "NSE",
    "bse_cm": "BSE",
    "nse_fo": "NFO",
    "bse_fo": "BFO",
    "cde_fo": "CDS",
    "mcx_fo": "MCX",
}
EXCHANGE_SEGMENTS: dict[str, str] = {exchange: segment for segment, exchange in SEGMENT_EXCHANGES.items()}

# At most this many instruments on one market socket (seed 002 sockets; Kite and Kotak allow 3,000 a connection).
SOCKET_INSTRUMENTS = 3000


class StreamMode(IntEnum):
    """How much of an instrument a stream carries; a higher mode includes every lower one."""

    LTP = 1  # last price
    QUOTE = 2  # and the day's OHLC, volume, OI
    DEPTH = 3  # and five levels of depth

    @property
    def label(self) -> str:
        return self.name.lower()


def instrument_key(segment: str, token: str) -> str:
    """One instrument in every key and channel: `<segment>|<token>` (the broker's token)."""
    return f"{segment}|{token}"


def split_key(key: str) -> tuple[str, str]:
    segment, _, token = key.partition("|")
    return segment, token


# A stream is whose market data it is: PAPER_STREAM for the paper market (one for every user), or a broker
# connection's id for data that came from that user's own broker session (and reaches no one else).
PAPER_STREAM = "paper"

PREFIX = settings.MARKET_KEY_PREFIX  # server-wide channels: see the setting


def tick_channel(stream: str, key: str) -> str:
    """The name of one instrument's ticks on one stream (the hub's table key; no longer a Redis channel)."""
    return f"{PREFIX}t:{stream}:{key}"


def process_channel(process_id: str) -> str:
    """Pub/sub channel of one web process: per feed pass, the ticks of one stream it wants (feed_publish)."""
    return f"{PREFIX}p:{process_id}"


def status_channel(stream: str) -> str:
    """Pub/sub channel of a stream's feed state (`status` messages)."""
    return f"{PREFIX}s:{stream}"


def status_key(stream: str) -> str:
    """The stream's last feed state (JSON), for sockets that arrive after it was announced."""
    return f"{PREFIX}status:{stream}"


def last_key(stream: str) -> str:
    """Hash of each instrument's last `market_data` data (JSON) on a stream: a new subscriber's first value."""
    return f"{PREFIX}last:{stream}"


def process_key(process_id: str) -> str:
    """A web process's heartbeat (expires when the process is gone)."""
    return f"{PREFIX}proc:{process_id}"


def want_key(process_id: str) -> str:
    """Hash of what one web process's sockets need: `<stream>#<instrument key>` -> the highest StreamMode."""
    return f"{PREFIX}want:{process_id}"


WANT_PROCESSES = f"{PREFIX}procs"  # set of web process ids that have published a want hash
DEMAND_CHANNEL = f"{PREFIX}demand"  # a web process's wants changed (the feed recomputes at once)
FEED_LOCK = f"{PREFIX}feed-lock"  # held by the one market-feed process that runs the upstream streams


def want_field(stream: str, key: str) -> str:
    return f"{stream}#{key}"


def split_want(field: str) -> tuple[str, str]:
    stream, _, key = field.partition("#")
    return stream, key


def client_key(client_id: str) -> str:
    """Hash of one market socket: user, process, channel name, account, stream, connected_at."""
    return f"{PREFIX}client:{client_id}"


def client_subscriptions_key(client_id: str) -> str:
    """Hash of one socket's instruments: instrument key -> StreamMode."""
    return f"{PREFIX}client:{client_id}:subs"


def user_clients_key(user_id: int) -> str:
    return f"{PREFIX}user:{user_id}:clients"


ALL_CLIENTS = f"{PREFIX}clients"  # every socket's client id (staff see all)


def want_value(mode: StreamMode, is_index: bool) -> str:
    """A want hash's value: the mode's number, `i` after it for an index (`2`, `3i`)."""
    return f"{int(mode)}{'i' if is_index else ''}"


def parse_want(value: str | bytes) -> tuple[StreamMode, bool]:
    text = value.decode() if isinstance(value, bytes) else value
    return StreamMode(int(text.rstrip("i"))), text.endswith("i")
