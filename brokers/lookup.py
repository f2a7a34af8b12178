"""Which connection a request means, per the contract's account rules."""

from __future__ import annotations

import uuid

from brokers.domain import Broker
from brokers.models import BrokerConnection
from brokers.selectors import connection_resolve
from budhitrade.errors import InvalidInput


def broker_from_query(request) -> str:
    """The `?broker=` filter, checked; empty when not given."""
    broker = request.query_params.get("broker", "").strip()
    if broker and broker not in Broker.values:
        raise InvalidInput(f"Unknown broker {broker!r}; use one of {', '.join(Broker.values)}.")
    return broker


def connection_from_request(request, *, resolve=connection_resolve) -> BrokerConnection:
    """X-Account-ID, else ?broker= (or ?connection_id=), else the user's only account; `resolve` picks it."""
    broker = broker_from_query(request)
    connection_id = request.query_params.get("connection_id", "").strip() or None
    if connection_id:
        try:
            connection_id = uuid.UUID(connection_id)
        except ValueError as exc:
            raise InvalidInput("connection_id is not a valid id.") from exc
    return resolve(
        user=request.user,
        account_id=request.headers.get("X-Account-ID", "").strip(),
        broker=broker,
        connection_id=connection_id,
    )
