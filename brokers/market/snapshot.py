"""The account a market socket streams for, and what it asks of the database and the broker (sync, off the loop).

"The" account is found by the contract's rules (`?account_id=`, `?broker=`,
else the user's only account); a user with no account at all streams the
paper market. Everything here that touches PostgreSQL or a broker runs in a
worker thread (database_sync_to_async), never on the socket's event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from django.utils import timezone

from brokers.adapters.base import BrokerAdapter
from brokers.adapters.paper.adapter import PaperAdapter
from brokers.adapters.registry import adapter_for
from brokers.market.keys import StreamMode
from brokers.market.quotes import instrument_quotes
from brokers.market.render import market_data
from brokers.market.resolve import ResolvedInstrument, resolve_instruments, stream_for
from brokers.models import BrokerConnection
from brokers.selectors import connection_resolve
from budhitrade.errors import NotFound


@dataclass
class SocketAccount:
    connection: BrokerConnection | None
    stream: str
    broker: str
    account_id: str

    def adapter(self) -> BrokerAdapter:
        if self.connection is None:
            return PaperAdapter(credentials={}, session={})
        return adapter_for(self.connection)

    async def resolve(self, items: list, *, is_index: bool = False) -> list[ResolvedInstrument]:
        return await database_sync_to_async(resolve_instruments)(connection=self.connection, items=items,
                                                                 is_index=is_index)

    async def market_open(self) -> bool:
        return self.adapter().market_open(timezone.now())

    async def last_values(self, resolved: list[ResolvedInstrument], mode: StreamMode) -> list[tuple[str, dict]]:
        """Each instrument's last value from the broker (a quote), as (instrument key, market_data data)."""
        return await database_sync_to_async(self._last_values)(resolved, mode)

    def _last_values(self, resolved: list[ResolvedInstrument], mode: StreamMode) -> list[tuple[str, dict]]:
        found = instrument_quotes(connection=self.connection, resolved=resolved, mode=mode)
        return [(item.key, market_data(quote, segment=item.segment, mode=mode)) for item, quote in found]


def _socket_account(user, query_string: bytes) -> SocketAccount:
    query = parse_qs(query_string.decode(errors="replace"))
    account_id = (query.get("account_id") or [""])[0].strip()
    broker = (query.get("broker") or [""])[0].strip()
    try:
        connection = connection_resolve(user=user, account_id=account_id, broker=broker)
    except NotFound:
        if account_id or broker:
            raise
        connection = None  # no account at all: the paper market, which is everyone's
    stream = stream_for(connection)
    return SocketAccount(connection=connection, stream=stream,
                         broker=connection.broker if connection else "paper",
                         account_id=connection.account_id if connection else "")


socket_account = database_sync_to_async(_socket_account)


@database_sync_to_async
def user_connection_ids(user_id: int) -> list:
    """The user's connections, whose order updates `subscribe_orderfeed` brings to the socket."""
    return list(BrokerConnection.objects.filter(user_id=user_id).values_list("pk", flat=True))
