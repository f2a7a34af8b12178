"""Seed 004 §6 order WebSocket: a paper fill reaches its owner, never another user; in-process and on daphne."""

import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from rest_framework_simplejwt.tokens import AccessToken

from brokers.domain import OrderChange, OrderRequest
from brokers.paper.models import PaperInstrument
from budhitrade.asgi import application
from orders import services
from orders.models import Order

pytestmark = pytest.mark.django_db(transaction=True)


def token(user) -> str:
    return str(AccessToken.for_user(user))


@pytest.fixture
def paper_connection(user_api, paper_market, user):
    from brokers.models import BrokerConnection

    account_id = user_api.post("/broker/connect/initiate", {"broker": "paper"}, format="json").json()["account_id"]
    return BrokerConnection.objects.get(account_id=account_id)


async def open_socket(user, account_id):
    communicator = WebsocketCommunicator(application, f"/ws/orders/{account_id}?token={token(user)}")
    connected, code = await communicator.connect()
    return communicator, connected, code


def market_buy(connection, quantity=10, tag=""):
    return services.order_place(connection=connection, request=OrderRequest(
        tradingsymbol="ITC", exchange="NSE", transaction_type="BUY", order_type="MARKET", product="CNC",
        quantity=quantity, tag=tag))


async def test_a_paper_fill_reaches_the_owner_as_order_and_position_updates(user, paper_connection, celery_worker):
    socket_, connected, _ = await open_socket(user, paper_connection.account_id)
    assert connected
    assert json.loads(await socket_.receive_from())["type"] == "connection"

    order = await database_sync_to_async(market_buy)(paper_connection, tag="swing-7")

    messages = [json.loads(await socket_.receive_from(timeout=15)) for _ in range(3)]
    updates = [m for m in messages if m["type"] == "order_update"]
    assert [u["status"] for u in updates] == ["PENDING", "COMPLETE"]
    assert [u["tag"] for u in updates] == ["swing-7", "swing-7"]  # the user's own tag ties them together
    done = updates[-1]
    assert done == {**done, "account_id": paper_connection.account_id, "order_id": order.broker_order_id,
                    "filled_quantity": 10, "status_message": "Order executed"}
    ltp = await database_sync_to_async(lambda: PaperInstrument.objects.get(tradingsymbol="ITC").last_price)()
    assert done["average_price"] == float(ltp) and done["timestamp"]
    [position] = [m for m in messages if m["type"] == "position_update"]
    assert (position["tradingsymbol"], position["quantity"]) == ("ITC", 10) and "pnl" in position
    await socket_.disconnect()


async def test_another_users_token_is_refused_and_hears_nothing(user, other_user, paper_connection):
    _, connected, code = await open_socket(other_user, paper_connection.account_id)
    assert not connected and code == 4403
    _, connected, code = await open_socket(other_user, "NOSUCH")
    assert not connected and code == 4403


async def test_without_a_token_the_socket_is_refused(paper_connection):
    communicator = WebsocketCommunicator(application, f"/ws/orders/{paper_connection.account_id}")
    connected, code = await communicator.connect()
    assert not connected and code == 4401


async def test_ping_pong_and_bad_json_keeps_the_socket_open(user, paper_connection):
    socket_, _, _ = await open_socket(user, paper_connection.account_id)
    await socket_.receive_from()

    await socket_.send_to(text_data="{nope")
    assert json.loads(await socket_.receive_from()) == {"type": "error", "message": "Invalid JSON"}
    await socket_.send_to(text_data=json.dumps({"type": "ping"}))
    pong = json.loads(await socket_.receive_from())
    assert pong["type"] == "pong" and pong["timestamp"]
    await socket_.disconnect()


def test_a_fill_made_in_another_process_reaches_a_real_client_on_daphne(live_daphne, user, paper_connection):
    """A limit order rests; a worker-like change in this process fills it; the browser on daphne hears it."""
    import requests
    import websockets.sync.client

    base = f"127.0.0.1:{live_daphne}"
    price = PaperInstrument.objects.get(tradingsymbol="ITC").last_price
    with websockets.sync.client.connect(
            f"ws://{base}/ws/orders/{paper_connection.account_id}?token={token(user)}", open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "connection"
        placed = requests.post(
            f"http://{base}/accounts/{paper_connection.account_id}/orders", timeout=10,
            headers={"Authorization": f"Bearer {token(user)}"},
            json={"tradingsymbol": "ITC", "exchange": "NSE", "transaction_type": "BUY", "quantity": 5,
                  "order_type": "LIMIT", "product": "CNC", "price": str(price - 10)})
        assert placed.status_code == 200, placed.text
        order = Order.objects.get(broker_order_id=placed.json()["order_id"])
        services.order_modify(order=order, change=OrderChange(price=price + 1))
        received = []
        while not any(m.get("status") == "COMPLETE" for m in received):
            received.append(json.loads(ws.recv(timeout=10)))

    assert [m["status"] for m in received if m["type"] == "order_update"][-1] == "COMPLETE"
