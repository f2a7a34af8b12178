"""Where each stream's market data comes from: the paper market for "paper", a user's stored broker session for
a connection's id, read from the database afresh at every (re)open so a reconnected session is picked up."""

from __future__ import annotations

import uuid

from channels.db import database_sync_to_async

from brokers.adapters.base import BrokerAdapter
from brokers.adapters.paper.adapter import PaperAdapter
from brokers.adapters.registry import adapter_for
from brokers.domain import ConnectionStatus
from brokers.market import keys
from brokers.models import BrokerConnection
from brokers.services import connection_expire


class NotConnected(Exception):
    """The stream's broker connection is not connected (expired, disconnected, gone): nothing to open."""


def _connection(stream: str) -> BrokerConnection | None:
    """The connection a stream is named after (its id), or None."""
    try:
        return BrokerConnection.objects.filter(pk=uuid.UUID(stream)).first()
    except ValueError:
        return None


@database_sync_to_async
def adapter_load(stream: str) -> BrokerAdapter:
    """The adapter whose market stream serves `stream`, from the connection as stored now."""
    if stream == keys.PAPER_STREAM:
        return PaperAdapter(credentials={}, session={})
    connection = _connection(stream)
    if connection is None:
        raise NotConnected("The broker connection no longer exists.")
    if connection.status != ConnectionStatus.CONNECTED:
        raise NotConnected(connection.last_error or f"The {connection.get_broker_display()} connection is "
                                                   f"{connection.get_status_display().lower()}; reconnect the account.")
    adapter = adapter_for(connection)
    if not adapter.streams_market_data:
        raise NotConnected(f"{connection.get_broker_display()} does not stream market data.")
    return adapter


@database_sync_to_async
def connection_expire_for(stream: str, reason: str) -> None:
    """Mark the stream's connection expired, as every other broker call that meets an expired session does."""
    connection = _connection(stream)
    if connection is not None:
        connection_expire(connection=connection, reason=reason)
