"""Seed 002's words (the Kotak Neo microservice's order body) and BudhiTrade's, both ways.

The one module that knows `B`/`S`, `L`/`MKT`, `nse_cm`, `amo` `YES`/`NO`,
quantities and prices as strings and cash symbols with their series
(`ITC-EQ`). Each map raises on a value it does not know: an unknown word is
the request's fault (400), never a silent default.
"""

from __future__ import annotations

import re
from decimal import Decimal

from brokers.market.keys import SEGMENT_EXCHANGES

TRANSACTION_TYPES = {"B": "BUY", "S": "SELL"}
ORDER_TYPES = {"L": "LIMIT", "MKT": "MARKET", "SL": "SL", "SL-M": "SL-M"}
AMO = {"NO": "regular", "YES": "amo"}
# What the unified API places on every broker, and what only some brokers take (an adapter's flag says which).
PRODUCTS = ("CNC", "MIS", "NRML")
COVER_BRACKET_PRODUCTS = ("CO", "BO")
VALIDITIES = ("DAY", "IOC")
LONG_VALIDITIES = ("GTC", "EOS", "GTD")
# Seed 002's segments that BudhiTrade orders go to: every one the market API names but currency (CDS), which no
# BudhiTrade order takes.
ORDER_SEGMENTS = {segment: exchange for segment, exchange in SEGMENT_EXCHANGES.items() if exchange != "CDS"}
CASH_SEGMENTS = ("nse_cm", "bse_cm")
# NSE's and BSE's series a cash symbol may carry after a dash (Kotak names equities ITC-EQ; Kite and the paper
# exchange name them ITC).
SERIES = ("EQ", "BE", "BZ", "BL", "BT", "SM", "ST", "GB", "GS", "IL", "IQ", "RR", "MF", "E1", "X1")
# Seed 002's field -> the unified order body's, for the few whose names differ.
FIELD_NAMES = {"trading_symbol": "tradingsymbol", "exchange_segment": "exchange", "amo": "variety"}
WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")
PLAIN_NUMBER = re.compile(r"[0-9]{1,12}(\.[0-9]{1,4})?")
SEED_NAMES = {unified: seed for seed, unified in FIELD_NAMES.items()}


class UnknownWord(ValueError):
    """A value seed 002's vocabulary does not have; its message names the allowed ones."""


def word(table: dict[str, str], value: str, *, name: str) -> str:
    """`value` looked up in `table`, any case; UnknownWord naming the allowed words."""
    text = value.strip()
    found = table.get(text.upper(), table.get(text.lower()))
    if found is None:
        raise UnknownWord(f"Unknown {name} {value!r}; use one of {', '.join(table)}.")
    return found


def whole(value: str, *, name: str) -> int:
    """A quantity sent as a string ("10"); UnknownWord when it is not a whole number."""
    text = value.strip()
    if not WHOLE_NUMBER.fullmatch(text):
        raise UnknownWord(f"{name} must be a whole number as a string, e.g. \"10\".")
    return int(text)


def money(value: str, *, name: str) -> Decimal | None:
    """A price sent as a string ("100.50"); "0" or blank is none (seed 002 sends "0" for an unused price)."""
    text = value.strip()
    if not text:
        return None
    if not PLAIN_NUMBER.fullmatch(text):  # no sign, exponent, NaN or infinity
        raise UnknownWord(f"{name} must be a number as a string, e.g. \"100.50\".")
    return Decimal(text) or None


def symbol_forms(symbol: str, segment: str) -> list[str]:
    """The trading symbol as given, then its other cash form: without its series (ITC-EQ -> ITC), or with EQ
    (ITC -> ITC-EQ). Derivatives have one form."""
    symbol = symbol.strip().upper()
    if segment not in CASH_SEGMENTS:
        return [symbol]
    base, dash, series = symbol.rpartition("-")
    if dash and base and series in SERIES:
        return [symbol, base]
    return [symbol, f"{symbol}-EQ"]


def seed_errors(errors: dict | None) -> dict | None:
    """Validation errors keyed by the unified body's names, renamed to seed 002's."""
    if not errors:
        return errors
    return {SEED_NAMES.get(name, name): messages for name, messages in errors.items()}
