"""Each account's broker API budget, shared by every process through Redis."""

from __future__ import annotations

from django.conf import settings

from brokers.adapters.base import BrokerUnavailable
from brokers.models import BrokerConnection
from budhitrade.throttle import ThrottleTimeout, throttle_wait


def connection_call_wait(*, connection: BrokerConnection) -> float:
    """Wait for the broker's API budget for this account (BROKER_API_RATE_LIMITS), shared by every process.

    Kite and Kotak count requests per API key, and each BudhiTrade account
    brings its own key, so the budget is per account. Returns seconds waited.
    """
    limit = settings.BROKER_API_RATE_LIMITS.get(connection.broker)
    if not limit:
        return 0.0
    calls, seconds = limit
    try:
        return throttle_wait(key=f"broker-api:{connection.broker}:{connection.pk}", limit=calls, window_seconds=seconds)
    except ThrottleTimeout as error:
        raise BrokerUnavailable("The broker's API rate limit for this account is used up; try again shortly.") from error
