"""Kite's instrument master through the real kiteconnect SDK (GET /instruments, a CSV) against a recorded dump."""

from datetime import date
from decimal import Decimal

from brokers.adapters.zerodha.adapter import ZerodhaAdapter

CREDENTIALS = {"api_key": "kitekey123", "api_secret": "kitesecret456"}
SESSION = {"access_token": "kAcc3ssT0kenValue9"}


def test_the_dump_becomes_instruments_of_the_exchanges_budhitrade_trades(kite_wire):
    kite_wire.reply_csv("/instruments", "instruments.csv")

    listing = ZerodhaAdapter(credentials=CREDENTIALS, session=SESSION).instruments()
    listed = {(i.exchange, i.tradingsymbol): i for i in listing.instruments}

    assert len(listed) == 9 and listing.published_on is None  # the currency future (CDS) is left out
    assert ("CDS", "USDINR26DECFUT") not in listed
    future = listed[("NFO", "NIFTY26DECFUT")]
    assert (future.instrument_type, future.lot_size, future.tick_size, future.expiry, future.token, future.name) == (
        "FUT", 65, Decimal("0.1"), date(2026, 12, 29), "12345602", "NIFTY")
    call = listed[("NFO", "NIFTY26DEC24500CE")]
    assert (call.instrument_type, call.strike) == ("CE", Decimal("24500"))
    assert listed[("NSE", "IDEA")].tick_size == Decimal("0.01")
    assert listed[("NSE", "NIFTY 50")].instrument_type == "INDEX"
    assert (listed[("BSE", "INFY")].token, listed[("NSE", "INFY")].token) == ("128083204", "408065")
    [sent] = kite_wire.calls("/instruments")
    assert sent.request.headers["Authorization"] == "token kitekey123:kAcc3ssT0kenValue9"
