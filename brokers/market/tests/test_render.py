"""The one market-data shape (brokers/market/render.py), over quotes mapped from the brokers' own recorded bodies."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from brokers.adapters.kotak_neo.mapping.quotes import quote_from_wire as kotak_quote
from brokers.adapters.zerodha.mapping.quotes import quote_from_wire as kite_quote
from brokers.calendar import IST
from brokers.domain import Quote, QuoteInstrument, QuoteKind
from brokers.market.keys import StreamMode
from brokers.market.render import instrument_row, price, iso_utc, market_data, quote_data
from brokers.tests.fixtures import wire_body

RECEIVED = datetime(2026, 6, 25, 8, 4, 20, 250000, tzinfo=timezone.utc)
HDFCBANK = QuoteInstrument(exchange="NSE", token="1333")
INFY = QuoteInstrument(exchange="NSE", token="408065", tradingsymbol="INFY")
QUOTE_KEYS = ["instrument_token", "exchange_segment", "ltp", "timestamp", "open", "high", "low", "close", "change",
              "volume", "average_price", "last_quantity", "oi", "oi_day_high", "oi_day_low", "buy_quantity",
              "sell_quantity", "last_trade_time"]


def rupees(text: str) -> float:
    """A body's decimal text as the JSON number the contract answers it with."""
    return float(Decimal(text))


def kotak_hdfcbank() -> Quote:
    (row,) = wire_body("kotak_neo", "quotes_success.json")
    return kotak_quote(row, HDFCBANK, received_at=RECEIVED)


def kite_infy(fixture: str = "quote.json") -> Quote:
    return kite_quote(INFY, wire_body("zerodha", fixture)["data"]["NSE:INFY"], received_at=RECEIVED)


def test_ltp_mode_is_seed_002s_four_keys_with_the_price_as_a_number_and_the_exchanges_time_in_utc():
    data = market_data(kotak_hdfcbank(), segment="nse_cm", mode=StreamMode.LTP)

    # lstup_time 1782374657 is 13:34:17 IST; Kotak's "ltp": "801.6000" is the number 801.6
    assert data == {"instrument_token": "1333", "exchange_segment": "nse_cm", "ltp": rupees("801.6000"),
                    "timestamp": "2026-06-25T08:04:17Z"}
    assert isinstance(data["ltp"], float)


def test_quote_mode_adds_the_days_quote_with_counts_as_ints_and_what_kotak_does_not_send_as_null():
    data = market_data(kotak_hdfcbank(), segment="nse_cm", mode=StreamMode.QUOTE)

    assert list(data) == QUOTE_KEYS
    assert (data["open"], data["high"], data["low"], data["close"], data["change"]) == (
        rupees("798.5000"), rupees("804.4500"), rupees("796.0000"), rupees("793.2000"), rupees("8.4000"))
    assert all(isinstance(data[name], float) for name in ("open", "high", "low", "close", "change", "average_price"))
    assert (data["volume"], data["last_quantity"], data["oi"], data["buy_quantity"], data["sell_quantity"]) == (
        30043533, 550, 0, 907335, 2883870)
    assert data["average_price"] == rupees("799.8900")
    assert (data["oi_day_high"], data["oi_day_low"], data["last_trade_time"]) == (None, None, None)
    assert "depth" not in data


def test_depth_mode_adds_five_levels_a_side():
    data = market_data(kotak_hdfcbank(), segment="nse_cm", mode=StreamMode.DEPTH)

    assert len(data["depth"]["buy"]) == len(data["depth"]["sell"]) == 5
    assert data["depth"]["buy"][0] == {"price": rupees("801.6000"), "quantity": 1733, "orders": 4}
    assert data["depth"]["sell"][4] == {"price": rupees("801.9000"), "quantity": 5900, "orders": 13}
    assert all(isinstance(level["price"], float) for side in ("buy", "sell") for level in data["depth"][side])


def test_kites_quote_renders_in_the_same_keys_with_its_last_trade_time_and_only_the_levels_it_filled():
    data = market_data(kite_infy(), segment="nse_cm", mode=StreamMode.DEPTH)

    assert list(data) == [*QUOTE_KEYS, "depth"]
    # Kite's numbers as they are; its net_change 0 is made last_price - close (1412.95 - 1389.65)
    assert (data["instrument_token"], data["ltp"], data["close"], data["change"]) == (
        "408065", 1412.95, 1389.65, rupees("23.30"))
    assert data["timestamp"] == "2021-06-08T10:15:56Z"  # Kite's 15:45:56 IST
    assert data["last_trade_time"] == "2021-06-08T10:15:52Z"
    assert (data["oi_day_high"], data["oi_day_low"]) == (0, 0)
    assert data["depth"] == {"buy": [], "sell": [{"price": 1412.95, "quantity": 5191, "orders": 13}]}


def test_a_quote_without_the_exchanges_time_is_stamped_when_it_was_received():
    data = market_data(kite_infy("ltp.json"), segment="nse_cm", mode=StreamMode.QUOTE)

    assert data["timestamp"] == "2026-06-25T08:04:20.250Z"
    assert (data["ltp"], data["open"], data["volume"]) == (1074.35, None, None)


def test_the_client_may_be_answered_in_its_own_name_for_the_instrument():
    assert market_data(kotak_hdfcbank(), segment="nse_cm", mode=StreamMode.LTP, token="Nifty 50")[
        "instrument_token"] == "Nifty 50"


@pytest.mark.parametrize("value, number", [
    (Decimal("2500.5"), 2500.5), (Decimal("801.6000"), 801.6), (Decimal("0.0025"), 0.0025),
    (Decimal("24500"), 24500), (Decimal("1E+2"), 100), (1412.95, 1412.95), (None, None),
    (Decimal("NaN"), None), (Decimal("-3.1"), -3.1),
])
def test_prices_are_json_numbers_in_rupees(value, number):
    assert price(value) == number and (number is None or isinstance(price(value), float))


def test_times_in_any_zone_are_utc_with_z():
    assert iso_utc(datetime(2026, 1, 5, 9, 15, tzinfo=IST)) == "2026-01-05T03:45:00Z"
    assert iso_utc(datetime(2026, 1, 5, 3, 45, 0, 1500, tzinfo=timezone(timedelta(hours=0)))) == (
        "2026-01-05T03:45:00.001Z")
    assert iso_utc(None) is None


@pytest.mark.parametrize("kind, extra", [
    (QuoteKind.LTP, []), (QuoteKind.OHLC, QUOTE_KEYS[4:]), (QuoteKind.OI, QUOTE_KEYS[4:]),
    (QuoteKind.DEPTH, [*QUOTE_KEYS[4:], "depth"]),
    (QuoteKind.WEEK_52, ["week_52_high", "week_52_low"]),
    (QuoteKind.CIRCUIT_LIMITS, ["upper_circuit", "lower_circuit"]),
    (QuoteKind.SCRIP_DETAILS, ["trading_symbol", "name", "isin", "instrument_type", "expiry", "strike",
                               "option_type", "lot_size", "tick_size"]),
])
def test_each_quote_type_has_its_own_keys_whatever_the_broker(kind, extra):
    kotak = quote_data(kotak_hdfcbank(), segment="nse_cm", kind=kind)
    kite = quote_data(kite_infy(), segment="nse_cm", kind=kind)

    assert list(kotak) == list(kite) == [*QUOTE_KEYS[:4], *extra]


def test_all_carries_every_part_kotak_sent():
    scrip = instrument_row(token="1333", segment="nse_cm", tradingsymbol="HDFCBANK-EQ", name="HDFCBANK",
                           instrument_type="EQ", lot_size=1, tick_size=Decimal("0.05"), strike=Decimal("0"))

    data = quote_data(kotak_hdfcbank(), segment="nse_cm", kind=QuoteKind.ALL, scrip=scrip)

    assert (data["week_52_high"], data["week_52_low"]) == (rupees("2037.7"), rupees("726.65"))
    assert (data["upper_circuit"], data["lower_circuit"]) == (rupees("872.5000"), rupees("713.9000"))
    assert (data["trading_symbol"], data["lot_size"], data["tick_size"], data["strike"], data["isin"]) == (
        "HDFCBANK-EQ", 1, 0.05, None, None)
    assert all(isinstance(data[name], float)
               for name in ("week_52_high", "week_52_low", "upper_circuit", "lower_circuit", "tick_size"))
    assert len(data["depth"]["buy"]) == 5


def test_an_instrument_row_names_an_options_type_strike_and_expiry():
    row = instrument_row(token="12345603", segment="nse_fo", tradingsymbol="NIFTY26DEC24500CE", name="NIFTY",
                         instrument_type="CE", expiry=date(2026, 12, 29), strike=Decimal("24500"), lot_size=65,
                         tick_size=Decimal("0.05"))

    assert row == {"instrument_token": "12345603", "exchange_segment": "nse_fo", "trading_symbol": "NIFTY26DEC24500CE",
                   "name": "NIFTY", "isin": None, "instrument_type": "CE", "expiry": "2026-12-29",
                   "strike": 24500.0, "option_type": "CE", "lot_size": 65, "tick_size": 0.05}
    assert isinstance(row["strike"], float) and isinstance(row["tick_size"], float)
