"""GET /api/market/scrip-master and /api/market/instruments: the account's listing, in one row shape, paged."""

import pytest

from brokers.market.tests.listings import answer_errors
from brokers.market.tests.listings import kite_connection, neo_connection, paper_connection, paper_listing  # noqa: F401
from brokers.models import BrokerConnection
from brokers.paper.models import PaperInstrument

pytestmark = pytest.mark.django_db

MASTER, SEARCH = "/api/market/scrip-master", "/api/market/instruments"
ROW_KEYS = ["instrument_token", "exchange_segment", "trading_symbol", "name", "isin", "instrument_type", "expiry",
            "strike", "option_type", "lot_size", "tick_size"]
MOST_QUERIES = 4


def rank(row: dict, query: str) -> int:
    """Where the search must place a row: symbol prefix, then name prefix, then the rest."""
    if row["trading_symbol"].upper().startswith(query.upper()):
        return 0
    return 1 if (row["name"] or "").upper().startswith(query.upper()) else 2


# --- the scrip master ----------------------------------------------------------------------------------


def test_the_paper_scrip_master_pages_through_the_active_listing(user_api, paper_listing,
                                                                django_assert_max_num_queries):
    listed = PaperInstrument.objects.filter(active=True, exchange="NSE").count()

    with django_assert_max_num_queries(MOST_QUERIES):
        first = user_api.get(MASTER, {"exchange_segment": "nse_cm", "limit": 10}).json()
    second = user_api.get(first["next"]).json()

    assert (first["status"], first["exchange_segment"], first["count"], first["offset"], first["limit"]) == (
        "success", "nse_cm", listed, 0, 10)
    assert len(first["data"]) == len(second["data"]) == 10 and second["offset"] == 10
    symbols = [row["trading_symbol"] for row in first["data"] + second["data"]]
    assert symbols == sorted(symbols) and len(set(symbols)) == 20
    assert all(list(row) == ROW_KEYS and row["exchange_segment"] == "nse_cm" for row in first["data"])
    assert answer_errors("market_scrip_master", first) == []
    tcs = user_api.get(MASTER, {"exchange_segment": "nse_cm", "limit": 5000}).json()["data"]
    assert {row["trading_symbol"]: row for row in tcs}["TCS"] == {
        "instrument_token": "11536", "exchange_segment": "nse_cm", "trading_symbol": "TCS",
        "name": "Tata Consultancy Services", "isin": "INE467B01029", "instrument_type": "EQ", "expiry": None,
        "strike": None, "option_type": None, "lot_size": 1, "tick_size": 0.05}


def test_the_last_page_has_no_next(user_api, paper_listing):
    listed = PaperInstrument.objects.filter(active=True).count()

    page = user_api.get(MASTER, {"offset": listed - 3, "limit": 10}).json()

    assert (page["count"], len(page["data"]), page["next"], page["exchange_segment"]) == (listed, 3, None, None)


def test_paper_options_carry_their_type_strike_and_expiry(user_api, paper_listing):
    page = user_api.get(MASTER, {"exchange_segment": "nse_fo", "limit": 5000}).json()
    rows = page["data"]

    option = next(row for row in rows if row["instrument_type"] == "PE")
    future = next(row for row in rows if row["instrument_type"] == "FUT")
    assert option["option_type"] == "PE" and option["strike"] and option["expiry"] and option["lot_size"] > 1
    assert isinstance(option["strike"], float) and isinstance(option["tick_size"], float)
    assert (future["option_type"], future["strike"]) == (None, None) and future["expiry"]
    assert answer_errors("market_scrip_master", page) == []


def test_kites_scrip_master_is_its_stored_master_in_the_same_shape(user_api, kite_connection,
                                                                   django_assert_max_num_queries):
    with django_assert_max_num_queries(MOST_QUERIES):
        body = user_api.get(MASTER).json()

    assert body["count"] == 9
    rows = {(row["exchange_segment"], row["trading_symbol"]): row for row in body["data"]}
    assert rows[("nse_cm", "NIFTY 50")]["instrument_type"] == "INDEX"
    assert rows[("nse_cm", "NIFTY 50")]["tick_size"] is None
    assert (rows[("bse_cm", "INFY")]["instrument_token"], rows[("nse_cm", "INFY")]["instrument_token"]) == (
        "128083204", "408065")
    assert rows[("nse_fo", "NIFTY26DEC24500CE")] == {
        "instrument_token": "12346114", "exchange_segment": "nse_fo", "trading_symbol": "NIFTY26DEC24500CE",
        "name": "NIFTY", "isin": None, "instrument_type": "CE", "expiry": "2026-12-29", "strike": 24500.0,
        "option_type": "CE", "lot_size": 65, "tick_size": 0.05}  # instruments.csv: strike 24500, tick_size 0.05
    assert isinstance(rows[("nse_fo", "NIFTY26DEC24500CE")]["strike"], float)
    assert rows[("mcx_fo", "GOLDM26JANFUT")]["instrument_type"] == "FUT"
    assert answer_errors("market_scrip_master", body) == []


def test_kotaks_scrip_master_names_its_indices_as_its_quotes_and_feed_take_them(user_api, neo_connection):
    rows = user_api.get(MASTER, {"exchange_segment": "nse_cm"}).json()["data"]

    by_symbol = {row["trading_symbol"]: row for row in rows}
    assert by_symbol["NIFTY"]["instrument_token"] == "Nifty 50"
    assert by_symbol["BANKNIFTY"]["instrument_token"] == "Nifty Bank"
    assert by_symbol["FINNIFTY"]["instrument_token"] == "26037"  # no Kotak name known: its token
    assert by_symbol["HDFCBANK-EQ"]["instrument_token"] == "1333"


@pytest.mark.parametrize("query, named", [
    ({"exchange_segment": "nyse"}, "Unknown exchange_segment 'nyse'"),
    ({"limit": "0"}, "limit must be a whole number from 1 to 5000"),
    ({"limit": "5001"}, "limit must be"),
    ({"offset": "-1"}, "offset must be"),
    ({"limit": "ten"}, "limit must be"),
])
def test_bad_scrip_master_parameters_are_named(user_api, paper_listing, query, named):
    response = user_api.get(MASTER, query)

    assert response.status_code == 400 and named in response.json()["detail"]


# --- the search -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["bank", "in", "Nifty", "a"])
def test_search_puts_symbol_prefixes_first_then_name_prefixes_then_the_rest(user_api, paper_listing, query):
    rows = user_api.get(SEARCH, {"q": query, "limit": 100}).json()["data"]

    assert rows and all(query.upper() in (r["trading_symbol"] + " " + (r["name"] or "")).upper() for r in rows)
    ranks = [rank(row, query) for row in rows]
    assert ranks == sorted(ranks)
    prefixed = [row["trading_symbol"].upper() for row in rows if rank(row, query) == 0]
    assert prefixed == sorted(prefixed)


def test_search_finds_by_name_any_case_and_names_each_row_fully(user_api, paper_listing):
    body = user_api.get(SEARCH, {"q": "consultancy", "exchange_segment": "nse_cm"}).json()

    assert (body["status"], body["q"], body["exchange_segment"], body["count"], body["next"]) == (
        "success", "consultancy", "nse_cm", 1, None)
    assert answer_errors("market_instruments", body) == []
    assert [row["instrument_token"] for row in body["data"]] == ["11536"]


def test_bank_on_the_paper_cash_market_is_every_bank_and_the_bank_index(user_api, paper_listing):
    rows = user_api.get(SEARCH, {"q": "bank", "exchange_segment": "nse_cm", "limit": 100}).json()["data"]

    symbols = [row["trading_symbol"] for row in rows]
    assert {"HDFCBANK", "ICICIBANK", "KOTAKBANK", "AXISBANK", "NIFTY BANK"} <= set(symbols)
    assert symbols == sorted(symbols)  # none starts with BANK: all rank alike, in symbol order
    assert next(r for r in rows if r["trading_symbol"] == "NIFTY BANK")["instrument_type"] == "INDEX"


def test_search_pages_do_not_overlap(user_api, paper_listing):
    first = user_api.get(SEARCH, {"q": "nifty", "limit": 30}).json()
    second = user_api.get(first["next"]).json()

    assert len(first["data"]) == len(second["data"]) == 30
    ids = [(r["exchange_segment"], r["instrument_token"]) for r in first["data"] + second["data"]]
    assert len(set(ids)) == 60


def test_search_over_kites_master_by_symbol_and_by_name(user_api, kite_connection, django_assert_max_num_queries):
    with django_assert_max_num_queries(MOST_QUERIES):
        rows = user_api.get(SEARCH, {"q": "idea"}).json()["data"]
    by_name = user_api.get(SEARCH, {"q": "vodafone"}).json()["data"]
    only_fo = user_api.get(SEARCH, {"q": "nifty", "exchange_segment": "nse_fo"}).json()["data"]

    assert [row["trading_symbol"] for row in rows] == ["IDEA"] == [row["trading_symbol"] for row in by_name]
    assert [row["trading_symbol"] for row in only_fo] == ["NIFTY26DEC24500CE", "NIFTY26DEC24500PE", "NIFTY26DECFUT"]


def test_search_over_kotaks_master(user_api, neo_connection):
    rows = user_api.get(SEARCH, {"q": "nifty", "exchange_segment": "nse_cm"}).json()["data"]

    # NIFTY by its symbol first; then BANKNIFTY, FINNIFTY and MIDCPNIFTY, which contain it
    assert [row["instrument_token"] for row in rows] == ["Nifty 50", "Nifty Bank", "26037", "26074"]


@pytest.mark.parametrize("query, named", [
    ({}, "q is required"),
    ({"q": "  "}, "q is required"),
    ({"q": "x" * 65}, "at most 64"),
    ({"q": "tcs", "limit": "101"}, "limit must be a whole number from 1 to 100"),
    ({"q": "tcs", "offset": "1001"}, "offset must be"),
    ({"q": "tcs", "exchange_segment": "nse"}, "Unknown exchange_segment 'nse'"),
])
def test_bad_search_parameters_are_named(user_api, paper_listing, query, named):
    response = user_api.get(SEARCH, query)

    assert response.status_code == 400 and named in response.json()["detail"]


# --- whose listing -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url, query", [(MASTER, {}), (SEARCH, {"q": "tcs"})])
def test_another_users_account_is_not_found(user_api, other_user, paper_listing, url, query):
    theirs = BrokerConnection.objects.create(user=other_user, broker="zerodha", account_id="ZX9999",
                                             status="connected")

    assert user_api.get(url, query, HTTP_X_ACCOUNT_ID=theirs.account_id).status_code == 404
    assert user_api.get(url, {**query, "broker": "zerodha"}).status_code == 404
    assert user_api.get(url, query).status_code == 200  # the user's own: no account, so the paper listing


@pytest.mark.parametrize("url", [MASTER, f"{SEARCH}?q=tcs"])
def test_the_listing_needs_a_jwt(api, url):
    assert api.get(url).status_code == 401


def test_an_expired_kite_account_still_reads_its_stored_master(user_api, kite_connection):
    BrokerConnection.objects.filter(pk=kite_connection.pk).update(status="expired")

    assert user_api.get(SEARCH, {"q": "infy"}).json()["count"] == 2
