"""The one place that knows which adapter serves which broker."""

from __future__ import annotations

from typing import TYPE_CHECKING

from brokers.adapters.base import BrokerAdapter
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.adapters.paper.adapter import PaperAdapter
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.budgets import connection_call_wait
from brokers.domain import Broker

if TYPE_CHECKING:
    from brokers.models import BrokerConnection

ADAPTERS: dict[Broker, type[BrokerAdapter]] = {
    Broker.KOTAK_NEO: KotakNeoAdapter,
    Broker.ZERODHA: ZerodhaAdapter,
    Broker.PAPER: PaperAdapter,
}


def adapter_class(broker: str) -> type[BrokerAdapter]:
    try:
        return ADAPTERS[Broker(broker)]
    except (KeyError, ValueError) as exc:
        raise ValueError(f"No adapter for broker {broker!r}") from exc


def adapter_for(connection: BrokerConnection) -> BrokerAdapter:
    """The adapter for a stored connection, resumed from its session."""
    adapter = adapter_class(connection.broker)(
        credentials=connection.credentials,
        session=connection.session,
        options=connection.options,
        account_id=connection.account_id,
    )
    adapter.call_wait = lambda: connection_call_wait(connection=connection)
    return adapter
