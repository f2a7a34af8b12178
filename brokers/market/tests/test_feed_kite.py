"""The market feed with Kite's ticker against a local Kite server: silence is reopened, heartbeats are alive.

The feed is the real one (test_feed.py's fixtures, on PostgreSQL and
Redis) and Kite's ticker the real KiteTicker, against the local server in
brokers/tests/adapters/zerodha/kite_ticker.py replaying Kite's recorded
packets. NSE is made to be trading whatever the hour.

Each test lets go of its instrument and waits for the feed to retire the
stream before the server and the feed stop, so nothing is connecting or
closing when the feed is cancelled (a stream ending just as the feed was
cancelled is the race that hung this test in the suite: Python 3.11's
asyncio.wait_for loses the cancel; see brokers/adapters/zerodha/ticker.py).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from channels.db import database_sync_to_async

from brokers.domain import ConnectionStatus
from brokers.market import keys
from brokers.market.keys import StreamMode
from brokers.market.tests.test_feed import Listener, WebProcess, feed, quick, redis, runner, until  # noqa: F401
from brokers.models import BrokerConnection
from brokers.tests.adapters.zerodha.kite_ticker import KiteTickerServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]

INFY, INFY_TOKEN = "nse_cm|408065", 408065
STALE = 1  # seconds: MARKET_FEED_STALE_SECONDS in these tests


@pytest.fixture
def trading(settings, monkeypatch):
    settings.MARKET_FEED_STALE_SECONDS = STALE
    monkeypatch.setattr("brokers.calendar.session_is_open", lambda at: True)  # NSE is trading, whatever the hour


async def kite_connection(user, server: KiteTickerServer, settings, *, access_token: str) -> BrokerConnection:
    settings.KITE_TICKER_URL = server.url
    return await database_sync_to_async(BrokerConnection.objects.create)(
        user=user, broker="zerodha", account_id="ZX1234", status=ConnectionStatus.CONNECTED,
        credentials={"api_key": "kitekey123", "api_secret": "kitesecret456"}, session={"access_token": access_token})


async def test_a_silent_kite_ticker_is_reopened_from_the_stored_session_and_resubscribed(
        redis, feed, user, settings, trading):
    kite = KiteTickerServer()  # takes the connection and the subscription, then says nothing: no tick, no heartbeat
    connection = await kite_connection(user, kite, settings, access_token="first")
    stream = str(connection.pk)
    process = await WebProcess(redis, "web-a").start()
    async with kite.serve():
        async with Listener(redis, keys.status_channel(stream), keys.tick_channel(stream, INFY)) as heard:
            await process.want(INFY, StreamMode.QUOTE, stream=stream)
            await until(lambda: kite.subscribed(INFY_TOKEN) == {1})
            connection.session = {"access_token": "second"}  # the user logged in again meanwhile
            await database_sync_to_async(connection.save)(update_fields=["session"])
            await until(lambda: len(kite.subscribed(INFY_TOKEN)) >= 2)
            silent = heard.states(stream)
            await kite.send("ticker_quote")
            await until(lambda: heard.states(stream)[-1:] == ["up"] and len(heard.states(stream)) > 2)
            await process.drop(INFY, stream=stream)
            await until(lambda: stream not in feed.runners)  # retired: its Kite socket closed before the server

    handshakes = [request.path for request in kite.handshakes]
    assert silent == ["up", "recovering"]
    assert "access_token=first" in handshakes[0] and "access_token=second" in handshakes[1]
    [tick] = heard.on(keys.tick_channel(stream, INFY))
    assert (tick["instrument_token"], Decimal(str(tick["ltp"])), tick["volume"]) == (
        "408065", Decimal("1573.15"), 1175986)


async def test_kite_heartbeats_keep_a_quiet_subscription_alive_and_it_is_not_reopened(
        redis, feed, user, settings, trading):
    kite = KiteTickerServer(heartbeat_seconds=0.2)  # Kite's heartbeat where nothing trades, and no tick at all
    connection = await kite_connection(user, kite, settings, access_token="today")
    stream = str(connection.pk)
    process = await WebProcess(redis, "web-a").start()
    async with kite.serve():
        async with Listener(redis, keys.status_channel(stream)) as heard:
            await process.want(INFY, StreamMode.QUOTE, stream=stream)
            await until(lambda: kite.subscribed(INFY_TOKEN) == {1})
            beats = kite.heartbeats
            await until(lambda: kite.heartbeats >= beats + 3 * STALE / 0.2)  # three times the silence that is stale
            rounds = runner(feed, stream).rounds
            await until(lambda: runner(feed, stream).rounds > rounds + 2)  # the feed has judged it since
            states = heard.states(stream)
            await process.drop(INFY, stream=stream)
            await until(lambda: stream not in feed.runners)  # retired: its Kite socket closed before the server

    assert states == ["up"]
    assert len(kite.handshakes) == 1 and kite.subscribed(INFY_TOKEN) == {1}
