"""What brokers push to BudhiTrade, in its own terms: one shape for every push, whichever way it came.

A broker pushes in its own way: Kite posts to a URL, Kotak Neo streams a
feed, the paper exchange announces each change itself. Each adapter turns its
broker's push into a `Push` of domain objects, and `orders.pushes` receives
every one through the same entry. Market data comes in the same way: a
broker's market stream (brokers/adapters/streams.py) yields `TickPush`es and
`FeedStatusPush`es, made by that broker's mapping, and the market-feed process
(brokers/market/feed.py) is the one place that receives them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models
from django.dispatch import Signal

from brokers.domain import BrokerOrder, Fill, OrderProgress, Quote


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


@dataclass(frozen=True)
class TickPush:
    """One instrument's market data as the broker streamed it: a Quote, with what the tick did not carry None.

    A broker that streams changes only (Kotak's deltas) has merged them into
    the instrument's whole state before this is made, so a TickPush is always
    the instrument's latest full value at the stream's mode.
    """

    quote: Quote


class FeedState(models.TextChoices):
    """A market stream's health, as sockets are told it in `status` messages."""

    UP = "up", "Streaming"
    DOWN = "down", "Not streaming"
    RECOVERING = "recovering", "Reconnecting"
    CLOSED = "closed", "Market closed"


@dataclass(frozen=True)
class FeedStatusPush:
    """The stream's own news: it connected, dropped, is reconnecting."""

    state: FeedState
    message: str = ""


Push = OrderPush | TickPush | FeedStatusPush

# An exchange inside BudhiTrade (the paper exchange) announces each push after its transaction commits:
# sender=<Broker>, account_id=<the broker account>, push=<Push>.
broker_pushed = Signal()
