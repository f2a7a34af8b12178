"""Kotak Neo's scrip master through the real NeoAPI (the file list) and its CSV files, against recorded answers."""

import logging
from datetime import date, datetime
from decimal import Decimal
from unittest.mock import patch

import pytest

from brokers.adapters.base import BrokerError
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.calendar import IST
from brokers.tests.fixtures import NEO_TRADE_HOST, wire_body

CREDENTIALS = {"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"}
SESSION = {"edit_token": "eyJ.trade", "edit_sid": "sid-2", "base_url": NEO_TRADE_HOST, "ucc": "AB123"}
FILE_LIST = f"{NEO_TRADE_HOST}/script-details/1.0/masterscrip/file-paths"


def adapter():
    return KotakNeoAdapter(credentials=CREDENTIALS, session=SESSION, options={"environment": "prod"})


@pytest.fixture
def scrip_master(neo_wire):
    neo_wire.files = neo_wire.serve_scrip_master()
    return neo_wire


def test_each_segment_file_becomes_instruments_in_rupees(scrip_master):
    listing = adapter().instruments()
    listed = {(i.exchange, i.tradingsymbol): i for i in listing.instruments}

    assert listing.published_on == date(2026, 12, 1)  # the day in the files' addresses
    assert {key for key, i in listed.items() if i.instrument_type != "INDEX"} == {
        ("NSE", "NHIT-IV"), ("NSE", "IDEA-EQ"), ("NSE", "HDFCBANK-EQ"), ("NSE", "INFY-EQ"), ("NSE", "ITC-EQ"),
        ("NFO", "NIFTY26DECFUT"), ("NFO", "NIFTY26DEC24500CE"), ("NFO", "NIFTY26DEC24500PE"), ("MCX", "GOLDM27JANFUT"),
        ("BFO", "SENSEX26DECFUT")}
    itc, nhit = listed[("NSE", "ITC-EQ")], listed[("NSE", "NHIT-IV")]
    # dTickSize is in paise: ITC's 5 is 0.05; NHIT's 1 and its board lot of 200000 units
    assert (itc.instrument_type, itc.tick_size, itc.lot_size, itc.token, itc.name) == (
        "EQ", Decimal("0.05"), 1, "1660", "ITC")
    assert (nhit.tick_size, nhit.lot_size) == (Decimal("0.01"), 200000)
    future = listed[("NFO", "NIFTY26DECFUT")]
    # NSE derivatives count expiry seconds from 1980; the contract expires on Tuesday 29 Dec 2026
    assert (future.instrument_type, future.lot_size, future.tick_size, future.expiry, future.token) == (
        "FUT", 65, Decimal("0.1"), date(2026, 12, 29), "48226")
    assert (listed[("NFO", "NIFTY26DEC24500CE")].strike, listed[("NFO", "NIFTY26DEC24500PE")].instrument_type) == (
        Decimal("24500"), "PE")
    sensex = listed[("BFO", "SENSEX26DECFUT")]
    assert (sensex.expiry, sensex.lot_size, sensex.tick_size) == (date(2026, 12, 24), 20, Decimal("0.05"))  # 1970
    gold = listed[("MCX", "GOLDM27JANFUT")]
    # MCX expiries count from 1970; Kotak's MCX quantities are lots, so no lot size is enforced
    assert (gold.expiry, gold.tick_size, gold.lot_size) == (date(2027, 1, 5), Decimal("1"), 1)
    [request] = scrip_master.calls(FILE_LIST)
    assert request.headers["Authorization"] == "neoConsumerKey1"


def test_indices_among_the_equities_load_as_indices_not_as_tradeable_equities(scrip_master):
    listed = {(i.exchange, i.tradingsymbol): i for i in adapter().instruments().instruments}

    indices = {symbol: (i.token, i.instrument_type, i.lot_size, i.tick_size)
               for (exchange, symbol), i in listed.items() if i.instrument_type == "INDEX"}
    # Kotak gives them dTickSize -1 (and MIDCPNIFTY lLotSize -1): never a tick of -0.01 or a lot of -1
    assert indices == {
        "NIFTY": ("26000", "INDEX", 1, Decimal("0")),
        "BANKNIFTY": ("26009", "INDEX", 1, Decimal("0")),
        "FINNIFTY": ("26037", "INDEX", 1, Decimal("0")),
        "MIDCPNIFTY": ("26074", "INDEX", 1, Decimal("0")),
    }
    assert all(i.tick_size >= 0 and i.lot_size >= 1 for i in listed.values())


def test_the_nse_commodity_and_currency_files_are_skipped_and_said_so(scrip_master, caplog):
    with caplog.at_level(logging.INFO, logger="budhitrade.brokers"):
        listing = adapter().instruments()

    assert {i.exchange for i in listing.instruments} == {"NSE", "NFO", "BFO", "MCX"}  # bse_cm lists only its header
    assert not scrip_master.calls(scrip_master.files["nse_com"])
    assert not scrip_master.calls(scrip_master.files["cde_fo"])
    skipped = [r.segment for r in caplog.records if r.getMessage() == "kotak_neo_segment_skipped"]
    assert sorted(skipped) == ["cde_fo", "nse_com"]


def test_the_older_file_list_without_v1_names_loads_the_same_segments(neo_wire):
    files = neo_wire.serve_scrip_master("scrip_master_file_paths_old.json")

    listing = adapter().instruments()

    assert listing.published_on == date(2025, 1, 22)
    assert {request.url.path.rsplit("/", 1)[-1] for request in neo_wire.requests if "scripmaster" in str(request.url)} \
        == {"nse_cm.csv", "bse_cm.csv", "nse_fo.csv", "bse_fo.csv", "mcx_fo.csv"}
    assert "nse_com" not in files


def test_a_segment_kotak_adds_later_is_logged_as_unknown_not_loaded(scrip_master, caplog):
    body = wire_body("kotak_neo", "scrip_master_file_paths.json")
    new_file = body["data"]["filesPaths"][0].replace("cde_fo", "bse_com")
    body["data"]["filesPaths"].append(new_file)
    scrip_master.routes[("GET", FILE_LIST)] = (200, body)

    with caplog.at_level(logging.WARNING, logger="budhitrade.brokers"):
        adapter().instruments()

    assert not scrip_master.calls(new_file)
    assert [r.value for r in caplog.records if r.getMessage() == "kotak_neo_unknown_value"] == ["bse_com"]


def test_a_file_that_fails_to_download_fails_the_whole_master(scrip_master):
    scrip_master.reply_file(scrip_master.files["nse_fo"], "scrip_master_nse_fo.csv", status=503)

    with pytest.raises(BrokerError, match="HTTP 503"):
        adapter().instruments()


def test_a_file_list_without_a_segment_is_refused(scrip_master):
    body = wire_body("kotak_neo", "scrip_master_file_paths.json")
    body["data"]["filesPaths"] = [url for url in body["data"]["filesPaths"] if "nse_fo" not in url]
    scrip_master.routes[("GET", FILE_LIST)] = (200, body)

    with pytest.raises(BrokerError, match="nse_fo"):
        adapter().instruments()


def test_a_file_without_the_columns_it_needs_is_refused(scrip_master):
    scrip_master.routes[("GET", scrip_master.files["nse_cm"])] = (200, b"pSymbol,pTrdSymbol\n1594,INFY-EQ\n")

    with pytest.raises(BrokerError, match="dTickSize"):
        adapter().instruments()


def test_a_loaded_index_is_known_but_not_orderable(scrip_master, user):
    from brokers.instruments import instruments_refresh
    from brokers.models import BrokerConnection

    connection = BrokerConnection.objects.create(
        user=user, broker="kotak_neo", account_id="AB123", status="connected", options={"environment": "prod"},
        credentials=CREDENTIALS, session=SESSION)
    morning = datetime(2026, 12, 1, 8, 45, tzinfo=IST)
    assert instruments_refresh(connection=connection, now=morning) == 14

    with patch("brokers.selectors.timezone.now", return_value=morning):
        nifty = adapter().instrument_spec(exchange="NSE", tradingsymbol="NIFTY")
        itc = adapter().instrument_spec(exchange="NSE", tradingsymbol="ITC-EQ")

    assert (nifty.known, nifty.orderable) == (True, False)
    assert (itc.known, itc.orderable, itc.tick_size) == (True, True, Decimal("0.05"))
