"""Kotak Neo's order feed through the SDK's own WebSocket client, against a local server speaking Kotak's frames."""

import asyncio
import json
from decimal import Decimal

import pytest
import websockets
from channels.db import database_sync_to_async

from brokers.adapters.base import BrokerError
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.adapters.paper.adapter import PaperAdapter
from brokers.adapters.registry import ADAPTERS
from brokers.domain import Broker, OrderProgress, OrderStatus
from brokers.models import BrokerConnection
from budhitrade.embedded_redis import free_port
from orders.management.commands import order_feed
from orders.management.commands.order_feed import feed_account
from orders.models import Order

pytestmark = pytest.mark.django_db(transaction=True)
ORDER_NO = "250122000612876"


@pytest.fixture
def neo_order(user):
    connection = BrokerConnection.objects.create(
        user=user, broker="kotak_neo", account_id="AB123", status="connected", options={"environment": "prod"},
        credentials={"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"},
        session={"edit_token": "eyJ.trade", "edit_sid": "sid-2", "base_url": "https://e43.kotaksecurities.com",
                 "ucc": "AB123"})
    return Order.objects.create(connection=connection, broker_order_id=ORDER_NO, tradingsymbol="INFY-EQ",
                                exchange="NSE", transaction_type="BUY", order_type="LIMIT", product="CNC",
                                quantity=10, price=1500, broker_tag="btfeedtest0001", status="OPEN",
                                pending_quantity=10)


@pytest.fixture
def kotak_feed(settings):
    """A local order-feed server: checks the SDK's connection string, then sends the frames it is given."""
    port = free_port()
    settings.KOTAK_NEO_ORDER_FEED_URL = f"ws://127.0.0.1:{port}/realtime"
    received: list[str] = []

    async def start(frames: list[dict]):
        async def handler(socket):
            received.append(await socket.recv())
            await socket.send(json.dumps({"type": "cn", "ak": "ok"}))
            for frame in frames:
                await socket.send(json.dumps(frame))
            # Kotak keeps the socket open; a close racing the last frames would drop them in the SDK's reader.
            await asyncio.sleep(0.3)
            await socket.close()

        return await websockets.serve(handler, "127.0.0.1", port)

    return start, received


def frame(status: str, filled: int, average: str, **extra) -> dict:
    return {"type": "order", "data": {"nOrdNo": ORDER_NO, "ordSt": status, "fldQty": filled, "unFldSz": 10 - filled,
                                      "avgPrc": average, "exOrdId": "1100000012345", "qty": 10, **extra}}


async def test_feed_updates_reach_the_stored_order_with_every_state(neo_order, kotak_feed):
    start, received = kotak_feed
    server = await start([frame("open", 4, "1499.00"), frame("complete", 10, "1499.40"),
                          {"type": "position", "data": {"sym": "INFY"}}])

    await asyncio.wait_for(feed_account(neo_order.connection), timeout=20)
    server.close()

    order = await database_sync_to_async(Order.objects.get)(pk=neo_order.pk)
    assert received == ["{type:cn,Authorization:eyJ.trade,Sid:sid-2,src:WEB}"]
    assert (order.status, order.filled_quantity, order.pending_quantity) == ("COMPLETE", 10, 0)
    assert float(order.average_price) == 1499.4 and order.exchange_order_id == "1100000012345"
    events = await database_sync_to_async(lambda: [(e.status, e.filled_quantity, e.source)
                                                   for e in order.events.all()])()
    assert events == [("OPEN", 4, "feed"), ("COMPLETE", 10, "feed")]


async def test_an_update_for_an_order_we_do_not_know_changes_nothing(neo_order, kotak_feed):
    start, _ = kotak_feed
    server = await start([{**frame("complete", 10, "1"), "data": {**frame("complete", 10, "1")["data"],
                                                                    "nOrdNo": "999"}}])

    await asyncio.wait_for(feed_account(neo_order.connection), timeout=20)
    server.close()

    order = await database_sync_to_async(Order.objects.get)(pk=neo_order.pk)
    assert order.status == "OPEN" and order.filled_quantity == 0


async def test_a_status_kotak_never_documented_keeps_the_order_status_and_the_feed_goes_on(neo_order, kotak_feed):
    start, _ = kotak_feed
    server = await start([frame("teleported", 4, "1499.00"), frame("complete", 10, "1499.40")])

    await asyncio.wait_for(feed_account(neo_order.connection), timeout=20)
    server.close()

    order = await database_sync_to_async(Order.objects.get)(pk=neo_order.pk)
    events = await database_sync_to_async(lambda: [(e.status, e.filled_quantity) for e in order.events.all()])()
    assert events == [("OPEN", 4), ("COMPLETE", 10)]  # the unknown status moved the fill, not the status
    assert order.status == "COMPLETE"


async def test_an_unreachable_feed_is_a_broker_unavailable(neo_order, settings):
    settings.KOTAK_NEO_ORDER_FEED_URL = f"ws://127.0.0.1:{free_port()}/realtime"
    with pytest.raises(BrokerError) as raised:
        await asyncio.wait_for(feed_account(neo_order.connection), timeout=20)
    assert raised.value.status_code == 503


class StreamingPaperAdapter(PaperAdapter):
    """A paper account whose broker streams order updates: one update, then the stream ends."""

    streams_order_updates = True

    async def order_updates(self):
        yield OrderProgress(broker_order_id=ORDER_NO, status=OrderStatus.COMPLETE, filled_quantity=10,
                            pending_quantity=0, average_price=Decimal("1500.25"))


async def test_the_feed_holds_the_accounts_whose_broker_streams_order_updates_whatever_its_name(
        neo_order, monkeypatch):
    monkeypatch.setitem(ADAPTERS, Broker.PAPER, StreamingPaperAdapter)
    monkeypatch.setattr(KotakNeoAdapter, "streams_order_updates", False)
    paper = await database_sync_to_async(BrokerConnection.objects.create)(
        user=neo_order.connection.user, broker="paper", account_id="PA00000042", status="connected",
        credentials={}, session={})
    await database_sync_to_async(BrokerConnection.objects.create)(
        user=neo_order.connection.user, broker="paper", account_id="PA00000043", status="expired",
        credentials={}, session={})

    assert [connection.pk for connection in await order_feed._feed_accounts()] == [paper.pk]


async def test_a_streamed_update_comes_in_through_the_one_push_entry(neo_order, monkeypatch):
    from orders import pushes

    received = []

    def push_receive(**kwargs):
        received.append(kwargs)
        return pushes.push_receive(**kwargs)

    monkeypatch.setitem(ADAPTERS, Broker.KOTAK_NEO, StreamingPaperAdapter)
    monkeypatch.setattr(order_feed, "push_receive", push_receive)

    await asyncio.wait_for(feed_account(neo_order.connection), timeout=20)

    [call] = received
    assert (call["connection"].pk, call["source"], call["push"].update.status) == (
        neo_order.connection.pk, "feed", "COMPLETE")
    order = await database_sync_to_async(Order.objects.get)(pk=neo_order.pk)
    assert (order.status, order.filled_quantity, order.average_price) == ("COMPLETE", 10, Decimal("1500.25"))
