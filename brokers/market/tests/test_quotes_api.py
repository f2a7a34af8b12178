"""POST /api/market/quotes: seed 002's body, one answer shape for every broker, on the brokers' recorded bodies."""

from decimal import Decimal

import pytest

from brokers.domain import ConnectionStatus
from brokers.market.tests.listings import answer_errors
from brokers.market.tests.listings import kite_connection, neo_connection, paper_connection, paper_listing  # noqa: F401
from brokers.models import BrokerConnection
from brokers.paper.models import PaperInstrument
from brokers.tests.fixtures import NEO_TRADE_HOST

pytestmark = pytest.mark.django_db

URL = "/api/market/quotes"
SEED_002 = [{"instrument_token": "11536", "exchange_segment": "nse_cm"},
            {"instrument_token": "2885", "exchange_segment": "nse_cm"}]
LTP_KEYS = ["instrument_token", "exchange_segment", "ltp", "timestamp"]
QUOTE_KEYS = [*LTP_KEYS, "open", "high", "low", "close", "change", "volume", "average_price", "last_quantity", "oi",
              "oi_day_high", "oi_day_low", "buy_quantity", "sell_quantity", "last_trade_time"]
SCRIP_KEYS = ["trading_symbol", "name", "isin", "instrument_type", "expiry", "strike", "option_type", "lot_size",
              "tick_size"]
ALL_KEYS = [*QUOTE_KEYS, "depth", "week_52_high", "week_52_low", "upper_circuit", "lower_circuit", *SCRIP_KEYS]
# A quote asks for the account, resolves every instrument in one query, and prices them (paper: two).
MOST_QUERIES = 8


def quotes(client, body, **headers):
    return client.post(URL, body, format="json", **headers)


def price(symbol: str) -> float:
    """The paper listing's price for `symbol`, as the JSON number a quote answers it with."""
    return float(PaperInstrument.objects.get(tradingsymbol=symbol).last_price)


def rupees(text: str) -> float:
    """A broker body's decimal text as the JSON number a quote answers it with."""
    return float(Decimal(text))


# --- the paper market -----------------------------------------------------------------------------


def test_seed_002s_tokens_are_priced_by_the_paper_market_for_a_user_with_no_account(
        user_api, paper_listing, django_assert_max_num_queries):
    with django_assert_max_num_queries(MOST_QUERIES):
        response = quotes(user_api, {"instrument_tokens": SEED_002, "quote_type": "ltp"})

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["quote_type"]) == ("success", "ltp")
    tcs, reliance = body["data"]
    assert list(tcs) == LTP_KEYS
    assert (tcs["instrument_token"], tcs["exchange_segment"], tcs["ltp"]) == ("11536", "nse_cm", price("TCS"))
    assert isinstance(tcs["ltp"], float)
    assert (reliance["instrument_token"], reliance["ltp"]) == ("2885", price("RELIANCE"))
    assert tcs["timestamp"] == "2026-11-16T05:30:00Z"  # the paper market's clock, 11:00 IST


def test_all_is_the_default_and_carries_depth_and_the_paper_listings_details(user_api, paper_listing):
    response = quotes(user_api, {"instrument_tokens": SEED_002[:1]})

    (tcs,) = response.json()["data"]
    assert response.json()["quote_type"] == "all" and list(tcs) == ALL_KEYS
    row = PaperInstrument.objects.get(tradingsymbol="TCS")
    assert (tcs["open"], tcs["close"], tcs["volume"]) == (float(row.open_price), float(row.close_price), row.volume)
    assert isinstance(tcs["open"], float) and isinstance(tcs["depth"]["buy"][0]["price"], float)
    assert len(tcs["depth"]["buy"]) == len(tcs["depth"]["sell"]) == 5
    assert (tcs["trading_symbol"], tcs["isin"], tcs["instrument_type"], tcs["lot_size"], tcs["tick_size"]) == (
        "TCS", "INE467B01029", "EQ", 1, 0.05)
    assert (tcs["week_52_high"], tcs["upper_circuit"], tcs["option_type"]) == (None, None, None)  # not kept by paper
    assert answer_errors("market_quotes", response.json()) == []


@pytest.mark.parametrize("name", ["Nifty 50", "nifty 50", "26000"])
def test_nifty_50_by_kotaks_index_name_is_the_paper_index(user_api, paper_listing, name):
    response = quotes(user_api, {"instrument_tokens": [{"instrument_token": name, "exchange_segment": "nse_cm"}],
                                 "quote_type": "depth"})

    (nifty,) = response.json()["data"]
    assert nifty["instrument_token"] == "26000" and nifty["ltp"] == price("NIFTY 50")
    assert (nifty["volume"], nifty["depth"]) == (None, {"buy": [], "sell": []})  # an index is not traded


def test_a_paper_account_gets_the_same_paper_market(user_api, paper_connection):
    response = quotes(user_api, {"instrument_tokens": SEED_002, "quote_type": "ohlc"},
                      HTTP_X_ACCOUNT_ID=paper_connection.account_id)

    assert [row["ltp"] for row in response.json()["data"]] == [price("TCS"), price("RELIANCE")]
    assert list(response.json()["data"][0]) == QUOTE_KEYS


def test_the_answer_keeps_the_order_asked_and_repeats(user_api, paper_listing):
    asked = [SEED_002[1], {"instrument_token": "Nifty Bank", "exchange_segment": "nse_cm"}, SEED_002[1]]

    response = quotes(user_api, {"instrument_tokens": asked, "quote_type": "ltp"})

    assert [row["instrument_token"] for row in response.json()["data"]] == ["2885", "26009", "2885"]


# --- Kotak Neo and Kite, through their SDKs, on their recorded answers ------------------------------------


def test_kotak_quotes_come_through_neoapi_in_the_same_shape(user_api, neo_connection, neo_wire):
    neo_wire.reply("GET", f"{NEO_TRADE_HOST}/script-details/1.0/quotes/neosymbol/nse_cm|1333/all",
                   "quotes_success.json")

    response = quotes(user_api, {"instrument_tokens": [{"instrument_token": "1333", "exchange_segment": "nse_cm"}],
                                 "quote_type": "all"})

    assert response.status_code == 200, response.json()
    (hdfc,) = response.json()["data"]
    assert list(hdfc) == ALL_KEYS
    assert (hdfc["instrument_token"], hdfc["ltp"], hdfc["change"], hdfc["volume"], hdfc["timestamp"]) == (
        "1333", rupees("801.6000"), rupees("8.4000"), 30043533, "2026-06-25T08:04:17Z")
    assert (hdfc["week_52_high"], hdfc["week_52_low"], hdfc["upper_circuit"], hdfc["lower_circuit"]) == (
        rupees("2037.7"), rupees("726.65"), rupees("872.5000"), rupees("713.9000"))
    assert hdfc["depth"]["buy"][0] == {"price": rupees("801.6000"), "quantity": 1733, "orders": 4}
    assert all(isinstance(hdfc[name], float) for name in ("ltp", "change", "week_52_high", "upper_circuit"))
    assert (hdfc["trading_symbol"], hdfc["lot_size"], hdfc["isin"]) == ("HDFCBANK-EQ", 1, None)
    assert answer_errors("market_quotes", response.json()) == []


def test_kotak_is_asked_for_an_index_by_its_name(user_api, neo_connection, neo_wire):
    url = f"{NEO_TRADE_HOST}/script-details/1.0/quotes/neosymbol/nse_cm|Nifty%2050/ltp"  # the SDK's URL, encoded
    neo_wire.reply("GET", url, "quotes_index_nifty_50.json")  # composed: Kotak publishes no index quote

    response = quotes(user_api, {"instrument_tokens": [{"instrument_token": "26000", "exchange_segment": "nse_cm"}],
                                 "quote_type": "ltp"})

    assert response.json()["data"] == [{"instrument_token": "Nifty 50", "exchange_segment": "nse_cm",
                                        "ltp": rupees("26012.3500"), "timestamp": response.json()["data"][0]["timestamp"]}]
    assert len(neo_wire.calls(url)) == 1


@pytest.mark.parametrize("quote_type, path, fixture, ltp", [
    ("all", "/quote", "quote.json", 1412.95),
    ("ltp", "/quote/ltp", "ltp.json", 1074.35),
    ("ohlc", "/quote/ohlc", "ohlc.json", 1075.0),  # Kite's integer 1075, a price all the same
])
def test_kite_quotes_come_through_kiteconnect_in_the_same_shape(user_api, kite_connection, kite_wire, quote_type,
                                                                path, fixture, ltp):
    kite_wire.reply("GET", path, fixture)

    response = quotes(user_api, {"instrument_tokens": [{"instrument_token": "408065", "exchange_segment": "nse_cm"}],
                                 "quote_type": quote_type})

    assert response.status_code == 200, response.json()
    (infy,) = response.json()["data"]
    assert (infy["instrument_token"], infy["exchange_segment"], infy["ltp"]) == ("408065", "nse_cm", ltp)
    assert isinstance(infy["ltp"], float)
    assert list(infy) == {"all": ALL_KEYS, "ltp": LTP_KEYS, "ohlc": QUOTE_KEYS}[quote_type]
    assert answer_errors("market_quotes", response.json()) == []
    [call] = kite_wire.calls(path)
    assert "i=NSE%3AINFY" in call.request.url  # Kite is asked by EXCHANGE:TRADINGSYMBOL from its own master
    if quote_type == "all":
        assert (infy["upper_circuit"], infy["lower_circuit"], infy["week_52_high"]) == (1528.6, 1250.7, None)
        assert infy["depth"]["sell"] == [{"price": 1412.95, "quantity": 5191, "orders": 13}]
    if quote_type == "ohlc":
        assert (infy["open"], infy["close"], infy["volume"]) == (1085.8, 1075.8, None)


def test_an_instrument_the_broker_does_not_answer_for_keeps_its_place_with_nothing_in_it(
        user_api, kite_connection, kite_wire):
    kite_wire.reply("GET", "/quote/ltp", "ltp.json")  # INFY only
    asked = [{"instrument_token": "424961", "exchange_segment": "nse_cm"},
             {"instrument_token": "408065", "exchange_segment": "nse_cm"}]

    response = quotes(user_api, {"instrument_tokens": asked, "quote_type": "ltp"})

    itc, infy = response.json()["data"]
    assert (itc["instrument_token"], itc["ltp"]) == ("424961", None) and itc["timestamp"]
    assert infy["ltp"] == 1074.35


def test_a_broker_failure_is_a_502(user_api, kite_connection, kite_wire):
    kite_wire.reply("GET", "/quote", "general_error.json", status=500)

    response = quotes(user_api, {"instrument_tokens": [{"instrument_token": "408065", "exchange_segment": "nse_cm"}]})

    assert response.status_code == 502 and response.json()["status_code"] == 502


def test_a_session_kite_refuses_marks_the_account_expired(user_api, kite_connection, kite_wire):
    kite_wire.reply("GET", "/quote", "session_expired.json", status=403)

    response = quotes(user_api, {"instrument_tokens": [{"instrument_token": "408065", "exchange_segment": "nse_cm"}]})

    assert response.status_code == 409
    kite_connection.refresh_from_db()
    assert kite_connection.status == ConnectionStatus.EXPIRED and kite_connection.session == {}


def test_an_account_that_is_not_connected_is_a_409_and_the_broker_is_not_asked(user_api, kite_connection, kite_wire):
    BrokerConnection.objects.filter(pk=kite_connection.pk).update(status=ConnectionStatus.EXPIRED)

    response = quotes(user_api, {"instrument_tokens": [{"instrument_token": "408065", "exchange_segment": "nse_cm"}]})

    assert response.status_code == 409 and "not connected" in response.json()["detail"]
    assert kite_wire.calls("/quote") == []


# --- what is refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize("body, named", [
    ({"instrument_tokens": [*SEED_002, {"instrument_token": "99999", "exchange_segment": "nse_cm"}]},
     "Unknown instrument 99999 on nse_cm."),
    ({"instrument_tokens": [{"instrument_token": "11536", "exchange_segment": "nyse"}]}, "Unknown exchange_segment 'nyse'"),
    ({"instrument_tokens": SEED_002, "quote_type": "greeks"}, "Unknown quote_type 'greeks'"),
    ({"instrument_tokens": []}, "instrument_tokens is empty"),
    ({"instrument_tokens": [SEED_002[0]] * 3001}, "At most 3000 instruments"),
    ({"instrument_tokens": "11536"}, "instrument_tokens must be a list"),
    ({"quote_type": "ltp"}, "instrument_tokens must be a list"),
    ({"instrument_tokens": ["11536"]}, "instrument_tokens[0] must be an object"),
    ([SEED_002], "The body must be a JSON object"),
])
def test_bad_requests_are_400s_naming_the_problem(user_api, paper_listing, body, named):
    response = quotes(user_api, body)

    assert response.status_code == 400
    assert named in response.json()["detail"] and response.json()["status_code"] == 400


def test_kite_does_not_list_the_paper_markets_token(user_api, kite_connection, kite_wire):
    response = quotes(user_api, {"instrument_tokens": SEED_002[:1]})

    assert response.status_code == 400 and response.json()["detail"] == "Unknown instrument 11536 on nse_cm."
    assert kite_wire.calls("/quote") == []


def test_another_users_account_is_not_found(user_api, other_user, paper_listing):
    theirs = BrokerConnection.objects.create(user=other_user, broker="paper", account_id="PA00000009",
                                             status="connected")

    response = quotes(user_api, {"instrument_tokens": SEED_002}, HTTP_X_ACCOUNT_ID=theirs.account_id)

    assert response.status_code == 404


def test_a_broker_the_user_has_no_account_with_is_not_found(user_api, paper_listing):
    response = user_api.post(f"{URL}?broker=zerodha", {"instrument_tokens": SEED_002}, format="json")

    assert response.status_code == 404


def test_several_accounts_and_none_named_is_ambiguous(user_api, kite_connection, neo_connection):
    response = quotes(user_api, {"instrument_tokens": SEED_002})

    assert response.status_code == 400 and "X-Account-ID" in response.json()["detail"]


def test_quotes_need_a_jwt(api, paper_listing):
    assert quotes(api, {"instrument_tokens": SEED_002}).status_code == 401


def test_three_thousand_instruments_take_a_bounded_number_of_queries(user_api, paper_listing,
                                                                      django_assert_max_num_queries):
    tokens = list(PaperInstrument.objects.filter(exchange="NFO").values_list("token", flat=True))
    asked = [{"instrument_token": str(tokens[n % len(tokens)]), "exchange_segment": "nse_fo"} for n in range(3000)]

    with django_assert_max_num_queries(MOST_QUERIES):
        response = quotes(user_api, {"instrument_tokens": asked, "quote_type": "ltp"})

    assert response.status_code == 200 and len(response.json()["data"]) == 3000
    assert all(isinstance(row["ltp"], float) and row["ltp"] > 0 for row in response.json()["data"])
