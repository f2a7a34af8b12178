"""What brokers push to BudhiTrade, in its own terms: one shape for every push, whichever way it came.

A broker pushes in its own way: Kite posts to a URL, Kotak Neo streams a
feed, the paper exchange announces each change itself. Each adapter turns its
broker's push into a `Push` of domain objects, and `orders.pushes` receives
every one through the same entry. Market ticks are the next kind of push and
come in the same way: a new dataclass beside `OrderPush`, added to `Push`.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.dispatch import Signal

from brokers.domain import BrokerOrder, Fill, OrderProgress


class PushSource(models.TextChoices):
    """How a push reached BudhiTrade; an order's history records it as the event's source."""

    POSTBACK = "postback", "Posted by the broker to BudhiTrade's URL"
    FEED = "feed", "Streamed by the broker's feed"
    EXCHANGE = "broker", "Announced by an exchange that runs inside BudhiTrade"


@dataclass(frozen=True)
class OrderPush:
    """An order's new state as the broker pushed it: the whole order (a BrokerOrder) or what moved (an
    OrderProgress), with the fills that came along (none where the broker sends its fills apart)."""

    update: BrokerOrder | OrderProgress
    fills: tuple[Fill, ...] = ()


Push = OrderPush

# An exchange inside BudhiTrade (the paper exchange) announces each push after its transaction commits:
# sender=<Broker>, account_id=<the broker account>, push=<Push>.
broker_pushed = Signal()
