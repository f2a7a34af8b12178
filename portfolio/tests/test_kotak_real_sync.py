"""A Kotak Neo account synced end to end through the API on Kotak's own positions and holdings bodies.

Kotak's positions answer carries no last price, so the sync values positions
from Kotak's quotes. With quotes answering, positions carry prices and P&L;
with quotes failing, the sync still succeeds: last price and unrealised P&L
are null (never 0), realised P&L and quantities stand, and the rows say the
price is missing.
"""

import pytest

from brokers.models import BrokerConnection
from brokers.tests.fixtures import NEO_TRADE_HOST

QUOTES_TCS_FUTURE = f"{NEO_TRADE_HOST}/script-details/1.0/quotes/neosymbol/nse_fo|61304/ltp"


@pytest.fixture(autouse=True)
def holdings_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEO_HOLDINGS_CACHE_DIR", str(tmp_path / "neo_holdings_cache"))


@pytest.fixture
def kotak_account(user, neo_wire):
    """A connected Kotak account whose broker answers with Kotak's own holdings, positions and limits bodies."""
    neo_wire.reply("GET", f"{NEO_TRADE_HOST}/portfolio/v1/holdings", "holdings_alternate_scrip.json")
    neo_wire.reply("GET", f"{NEO_TRADE_HOST}/portfolio/v2/positions", "positions_success.json")
    neo_wire.reply("POST", f"{NEO_TRADE_HOST}/quick/user/limits", "limits_success.json")
    return BrokerConnection.objects.create(
        user=user, broker="kotak_neo", account_id="AB123", status="connected", options={"environment": "prod"},
        credentials={"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"},
        session={"edit_token": "eyJ.trade", "edit_sid": "sid-2", "base_url": NEO_TRADE_HOST, "ucc": "AB123"},
    )


def _sync_and_read(user_api):
    synced = user_api.post("/accounts/AB123/sync", {"force": True}, format="json")
    holdings = user_api.get("/accounts/AB123/holdings")
    positions = user_api.get("/accounts/AB123/positions")
    assert (synced.status_code, holdings.status_code, positions.status_code) == (200, 200, 200), (
        synced.json(), holdings.json(), positions.json())
    return synced.json(), holdings.json(), positions.json()


def test_a_kotak_sync_values_positions_from_kotaks_quotes(user_api, kotak_account, neo_wire):
    neo_wire.reply("GET", QUOTES_TCS_FUTURE, "quotes_positions.json")

    synced, holdings, positions = _sync_and_read(user_api)

    assert (synced["holdings_count"], synced["positions_count"]) == (2, 1)
    (future,) = positions["positions"]
    assert (future["tradingsymbol"], future["exchange"], future["quantity"]) == ("TCS26JULFUT", "NFO", 225)
    assert (future["last_price"], future["average_price"]) == (2117.0, 2112.0)
    assert (future["pnl"], future["m2m"], future["unrealised"], future["realised"]) == (1125.0, 1125.0, 1125.0, 0.0)
    assert future["multiplier"] == 1 and future["price_missing"] is False
    assert len(neo_wire.calls(QUOTES_TCS_FUTURE)) == 1
    # YESBANK and CESC, each listed on NSE and again on BSE, are one holding each
    assert sorted((h["tradingsymbol"], h["exchange"], h["quantity"]) for h in holdings["holdings"]) == [
        ("CESC", "NSE", 2), ("YESBANK", "NSE", 4)]
    yesbank = next(h for h in holdings["holdings"] if h["tradingsymbol"] == "YESBANK")
    assert (yesbank["pnl"], yesbank["market_value"], yesbank["holding_cost"], yesbank["last_price"]) == (
        -5.49, 79.0, 84.49, 19.75)
    assert yesbank["price_missing"] is False


@pytest.mark.parametrize("failure", [503, 403, "no quote for the instrument"])
def test_a_kotak_sync_without_quotes_still_syncs_and_says_the_price_is_missing(user_api, kotak_account, neo_wire,
                                                                                failure):
    if failure == "no quote for the instrument":
        neo_wire.reply("GET", QUOTES_TCS_FUTURE, "quotes_success.json")  # it prices HDFCBANK only
    else:
        neo_wire.reply("GET", QUOTES_TCS_FUTURE, "session_expired.json", status=failure)

    synced, holdings, positions = _sync_and_read(user_api)

    assert (synced["holdings_count"], synced["positions_count"]) == (2, 1)
    (future,) = positions["positions"]
    assert (future["last_price"], future["pnl"], future["m2m"], future["day_pnl"], future["unrealised"]) == (
        None, None, None, None, None)
    assert (future["quantity"], future["buy_quantity"], future["average_price"], future["realised"]) == (
        225, 225, 2112.0, 0.0)
    assert future["price_missing"] is True
    assert positions["prices_missing"] == 1
    # holdings carry Kotak's own valuation, so they are priced either way
    assert sorted(h["pnl"] for h in holdings["holdings"]) == [-12.42, -5.49]
    assert holdings["prices_missing"] == 0
    # quotes authenticate by the consumer key alone: their failure does not end the trade session
    kotak_account.refresh_from_db()
    assert kotak_account.status == "connected"
