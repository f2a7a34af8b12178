"""Kotak Neo's scrip master through the real NeoAPI (the file list) and its CSV files, against recorded answers."""

from datetime import date
from decimal import Decimal

import pytest

from brokers.adapters.base import BrokerError
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter

BASE = "https://e43.kotaksecurities.com"
FILES = "https://lapi.kotaksecurities.com/wso2-scripmaster/v1/prod/2026-12-01/transformed-v1/"
CREDENTIALS = {"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"}
SESSION = {"edit_token": "eyJ.trade", "edit_sid": "sid-2", "base_url": BASE, "ucc": "AB123"}


def adapter():
    return KotakNeoAdapter(credentials=CREDENTIALS, session=SESSION, options={"environment": "prod"})


@pytest.fixture
def scrip_master(neo_wire):
    neo_wire.reply("GET", f"{BASE}/script-details/1.0/masterscrip/file-paths", "scrip_master_file_paths.json")
    for segment in ("nse_cm", "bse_cm", "nse_fo"):
        neo_wire.reply_file(f"{FILES}{segment}-v1.csv", f"scrip_master_{segment}.csv")
    return neo_wire


def test_each_segment_file_becomes_instruments_in_rupees(scrip_master):
    listed = {(i.exchange, i.tradingsymbol): i for i in adapter().instruments()}

    assert set(listed) == {("NSE", "INFY-EQ"), ("NSE", "ITC-EQ"), ("NSE", "IDEA-EQ"), ("NFO", "NIFTY26DECFUT"),
                           ("NFO", "NIFTY26DEC24500CE"), ("NFO", "NIFTY26DEC24500PE")}
    assert (listed[("NSE", "ITC-EQ")].tick_size, listed[("NSE", "IDEA-EQ")].tick_size) == (Decimal("0.05"),
                                                                                           Decimal("0.01"))
    future = listed[("NFO", "NIFTY26DECFUT")]
    # NSE derivatives count expiry seconds from 1980; the contract expires on Tuesday 29 Dec 2026
    assert (future.instrument_type, future.lot_size, future.tick_size, future.expiry, future.token) == (
        "FUT", 65, Decimal("0.1"), date(2026, 12, 29), "48226")
    assert (listed[("NFO", "NIFTY26DEC24500CE")].strike, listed[("NFO", "NIFTY26DEC24500PE")].instrument_type) == (
        Decimal("24500"), "PE")
    [listing] = scrip_master.calls(f"{BASE}/script-details/1.0/masterscrip/file-paths")
    assert listing.headers["Authorization"] == "neoConsumerKey1"
    assert not scrip_master.calls(f"{FILES}cde_fo-v1.csv")  # currency is not traded here


def test_a_file_that_fails_to_download_fails_the_whole_master(scrip_master):
    scrip_master.reply_file(f"{FILES}nse_fo-v1.csv", "scrip_master_nse_fo.csv", status=503)

    with pytest.raises(BrokerError, match="HTTP 503"):
        adapter().instruments()
