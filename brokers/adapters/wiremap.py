"""One broker's wire values to BudhiTrade's own, both ways.

Writes and reads fail differently. A value BudhiTrade would send that the
broker does not take is the request's fault: `to_wire` raises
BrokerOrderRejected (400) and nothing is sent. A value the broker sends that
BudhiTrade cannot name yet (a new segment, product or status) must not hide
the rest of the answer: `from_wire` keeps the broker's raw value for that row
and logs `<broker>_unknown_value` once per process and value.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from brokers.adapters.base import BrokerOrderRejected
from brokers.domain import Broker

logger = logging.getLogger("budhitrade.brokers")

_seen: set[tuple[str, str, str]] = set()
_seen_lock = threading.Lock()


def unknown_value_seen(broker: Broker, what: str, value: Any) -> None:
    """Log `<broker>_unknown_value` the first time this process meets the value."""
    key = (str(broker), what, repr(value))
    with _seen_lock:
        if key in _seen:
            return
        _seen.add(key)
    logger.warning(f"{broker}_unknown_value", extra={"field": what, "value": str(value)[:64]})


class WireMap:
    """A broker's names for one field (`what`), read and written.

    `table` maps wire values to BudhiTrade's. `writes` maps BudhiTrade's to
    the wire where the broker takes fewer (or other) values than it sends;
    by default it is `table` inverted.
    """

    def __init__(
        self,
        broker: Broker,
        what: str,
        table: Mapping[Any, str],
        *,
        writes: Mapping[str, Any] | None = None,
    ) -> None:
        self.broker = broker
        self.what = what
        self.table = dict(table)
        self.writes = dict(writes) if writes is not None else {domain: wire for wire, domain in self.table.items()}

    def __contains__(self, value: Any) -> bool:
        return value in self.table

    def from_wire(self, value: Any) -> str:
        """BudhiTrade's name for `value`, or the raw value (logged once) where there is none."""
        try:
            return self.table[value]
        except (KeyError, TypeError):
            unknown_value_seen(self.broker, self.what, value)
            return "" if value is None else str(value)

    def known(self, value: Any) -> bool:
        """Whether `value` (a wire value) has a BudhiTrade name."""
        try:
            return value in self.table
        except TypeError:
            return False

    def to_wire(self, value: Any) -> Any:
        """The broker's name for a value BudhiTrade sends; BrokerOrderRejected (400) when it takes none."""
        try:
            return self.writes[value]
        except (KeyError, TypeError):
            raise BrokerOrderRejected(
                f"{self.broker.label} does not take {self.what} {value!r}."
            ) from None
