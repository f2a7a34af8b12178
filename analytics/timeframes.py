"""Timeframes, symbols and buckets: the vocabulary every analytics endpoint shares.

Snapshots are stored per one-minute bucket. A longer timeframe's bucket is
represented by the last one-minute bucket inside it (the state at its close)
and labelled by its own start, in Unix seconds, as seed 004 labels buckets.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

TIMEFRAMES: dict[str, int] = {"1min": 60, "5min": 300, "15min": 900}

# Names clients use for each underlying (seed 004 writes both NIFTY and NIFTY50), upper-cased, spaces removed.
SYMBOL_ALIASES: dict[str, str] = {
    "NIFTY": "NIFTY",
    "NIFTY50": "NIFTY",
    "BANKNIFTY": "BANKNIFTY",
    "NIFTYBANK": "BANKNIFTY",
}


# What an NSE underlying's name can be (M&M, BAJAJ-AUTO): anything else is not a symbol at all.
SYMBOL_SHAPE = re.compile(r"[A-Z0-9&-]{1,32}")


def symbol_underlying(symbol: str) -> str | None:
    """The stored underlying a client's symbol names (an alias, or the symbol itself, upper-cased), or None when
    it is not shaped like a symbol. A well-formed symbol nothing was captured for is then a 404, not a 400."""
    name = symbol.upper().replace(" ", "").replace("_", "")
    if name in SYMBOL_ALIASES:
        return SYMBOL_ALIASES[name]
    return name if SYMBOL_SHAPE.fullmatch(name) else None


def unix_seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def timeframe_start(moment: datetime, seconds: int) -> int:
    """The Unix start of the timeframe bucket holding `moment`."""
    return unix_seconds(moment) // seconds * seconds


def timeframe_closes(buckets: list[datetime], seconds: int) -> dict[int, datetime]:
    """Timeframe bucket start -> the last one-minute bucket in it, for one-minute `buckets` in any order."""
    closes: dict[int, datetime] = {}
    for bucket in buckets:
        start = timeframe_start(bucket, seconds)
        if start not in closes or bucket > closes[start]:
            closes[start] = bucket
    return dict(sorted(closes.items()))


def session_start(moment: datetime) -> datetime:
    """Midnight IST of the trading day holding `moment`: a session's buckets are those from here on that day."""
    from brokers.calendar import IST

    local = moment.astimezone(IST)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)
