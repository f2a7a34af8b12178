"""Kotak Neo's scrip master through the real NeoAPI (the file list) and its CSV files, against recorded answers."""

from datetime import date
from decimal import Decimal

import pytest

from brokers.adapters.base import BrokerError
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter

BASE = "https://e43.kotaksecurities.com"
FILES = "https://lapi.kotaksecurities.com/wso2-scripmaster/v1/prod/2026-12-01/transformed-v1/"
CREDENTIALS = {"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"}
SEGMENTS = ("nse_cm", "bse_cm", "nse_fo", "bse_fo", "mcx_fo")
SESSION = {"edit_token": "eyJ.trade", "edit_sid": "sid-2", "base_url": BASE, "ucc": "AB123"}


def adapter():
    return KotakNeoAdapter(credentials=CREDENTIALS, session=SESSION, options={"environment": "prod"})


@pytest.fixture
def scrip_master(neo_wire):
    neo_wire.reply("GET", f"{BASE}/script-details/1.0/masterscrip/file-paths", "scrip_master_file_paths.json")
    for segment in SEGMENTS:
        neo_wire.reply_file(f"{FILES}{segment}-v1.csv", f"scrip_master_{segment}.csv")
    return neo_wire


def test_each_segment_file_becomes_instruments_in_rupees(scrip_master):
    listing = adapter().instruments()
    listed = {(i.exchange, i.tradingsymbol): i for i in listing.instruments}

    assert listing.published_on == date(2026, 12, 1)  # the day in the files' addresses
    assert set(listed) == {("NSE", "INFY-EQ"), ("NSE", "ITC-EQ"), ("NSE", "IDEA-EQ"), ("NFO", "NIFTY26DECFUT"),
                           ("NFO", "NIFTY26DEC24500CE"), ("NFO", "NIFTY26DEC24500PE"), ("MCX", "GOLDM27JANFUT"),
                           ("BFO", "SENSEX26DECFUT")}
    assert (listed[("NSE", "ITC-EQ")].tick_size, listed[("NSE", "IDEA-EQ")].tick_size) == (Decimal("0.05"),
                                                                                           Decimal("0.01"))
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
    [request] = scrip_master.calls(f"{BASE}/script-details/1.0/masterscrip/file-paths")
    assert request.headers["Authorization"] == "neoConsumerKey1"
    assert not scrip_master.calls(f"{FILES}cde_fo-v1.csv")  # currency is not traded here


def test_a_file_that_fails_to_download_fails_the_whole_master(scrip_master):
    scrip_master.reply_file(f"{FILES}nse_fo-v1.csv", "scrip_master_nse_fo.csv", status=503)

    with pytest.raises(BrokerError, match="HTTP 503"):
        adapter().instruments()


def test_a_file_list_without_a_segment_is_refused(scrip_master):
    from brokers.tests.fixtures import wire_body

    body = wire_body("kotak_neo", "scrip_master_file_paths.json")
    body["data"]["filesPaths"] = [url for url in body["data"]["filesPaths"] if "nse_fo" not in url]
    scrip_master.routes[("GET", f"{BASE}/script-details/1.0/masterscrip/file-paths")] = (200, body)

    with pytest.raises(BrokerError, match="nse_fo"):
        adapter().instruments()


def test_a_file_without_the_columns_it_needs_is_refused(scrip_master):
    scrip_master.routes[("GET", f"{FILES}nse_cm-v1.csv")] = (200, b"pSymbol,pTrdSymbol\n1594,INFY-EQ\n")

    with pytest.raises(BrokerError, match="dTickSize"):
        adapter().instruments()
