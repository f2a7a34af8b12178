"""Kite's market quotes for any number of instruments: batched to Kite's call sizes, paced to its quote budget.

Kite answers up to 500 instruments a /quote call and 1,000 an /ohlc or /ltp
call, and allows one quote request a second per account (all three calls
count). A longer list is split into batches, and each batch first takes from
the account's quote budget (BROKER_QUOTE_RATE_LIMITS), spaced through Redis
so that every process shares it: each request waits for its own slot, a
second after the one before, rather than failing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from brokers.adapters.base import BrokerUnavailable
from brokers.adapters.zerodha import mapping
from brokers.adapters.zerodha.client import ZerodhaClient
from brokers.domain import Broker, Quote, QuoteInstrument, QuoteKind
from budhitrade.throttle import ThrottleTimeout, throttle_space


def quote_budget_key(*, account_id: str, api_key: str) -> str:
    """The Redis key of an account's quote budget: the Kite user, or (before one is known) a digest of the API key."""
    owner = account_id.upper() if account_id else "key-" + hashlib.sha256(api_key.encode()).hexdigest()[:16]
    return f"broker-quotes:{Broker.ZERODHA.value}:{owner}"


def quote_budget_wait(budget_key: str) -> float:
    """Take one quote request from the account's budget: requests at least a second apart (Kite counts any second)."""
    limit = settings.BROKER_QUOTE_RATE_LIMITS.get(Broker.ZERODHA.value)
    if not limit:
        return 0.0
    calls, seconds = limit
    try:
        return throttle_space(key=budget_key, limit=calls, window_seconds=seconds)
    except ThrottleTimeout as error:
        raise BrokerUnavailable("Zerodha's quote budget for this account stays used up; try again shortly.") from error


def quotes_fetch(
    client: ZerodhaClient, instruments: Sequence[QuoteInstrument], kind: QuoteKind, *, budget_key: str
) -> list[Quote]:
    """Quotes in the order asked; an instrument asked twice is fetched once, one Kite left out has nothing in it."""
    call = mapping.quote_call(kind)
    keys = [mapping.quote_key(instrument) for instrument in instruments]  # every key checked before any call
    unique = list(dict.fromkeys(keys))
    size = mapping.BATCH_SIZES[call]
    answers: dict[str, tuple[dict[str, Any] | None, datetime]] = {}
    for start in range(0, len(unique), size):
        batch = unique[start:start + size]
        quote_budget_wait(budget_key)
        answer = client.quotes(call, batch)
        received_at = timezone.now()
        for key in batch:
            answers[key] = (answer.get(key), received_at)
    return [
        mapping.quote_from_wire(instrument, answers[key][0], received_at=answers[key][1])
        for instrument, key in zip(instruments, keys)
    ]
