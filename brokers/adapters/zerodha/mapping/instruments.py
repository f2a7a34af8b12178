"""Kite's instrument master (GET /instruments) as BudhiTrade's instruments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from brokers.domain import INSTRUMENT_NAME_LENGTH, INSTRUMENT_SYMBOL_LENGTH, Instrument

# The exchanges BudhiTrade trades; Kite's currency and other segments are left out of the master.
INSTRUMENT_EXCHANGES = ("NSE", "BSE", "NFO", "BFO", "MCX")
INSTRUMENT_TYPES = {"EQ": "EQ", "FUT": "FUT", "CE": "CE", "PE": "PE"}


def instruments_from_wire(rows: list[dict[str, Any]]) -> list[Instrument]:
    """kiteconnect's parsed /instruments CSV: one row per instrument, indices under segment INDICES."""
    listed = []
    for row in rows:
        if row.get("exchange") not in INSTRUMENT_EXCHANGES:
            continue
        if row.get("segment") == "INDICES":
            kind = "INDEX"
        elif row.get("instrument_type") in INSTRUMENT_TYPES:
            kind = INSTRUMENT_TYPES[row["instrument_type"]]
        else:
            continue
        expiry = row.get("expiry")
        symbol = str(row["tradingsymbol"])
        if len(symbol) > INSTRUMENT_SYMBOL_LENGTH:
            continue
        listed.append(Instrument(
            exchange=row["exchange"], tradingsymbol=symbol, token=str(row["instrument_token"]),
            name=str(row.get("name") or "")[:INSTRUMENT_NAME_LENGTH], instrument_type=kind,
            lot_size=int(row["lot_size"]) or 1, tick_size=Decimal(str(row["tick_size"])),
            expiry=expiry if hasattr(expiry, "year") else None, strike=Decimal(str(row.get("strike") or 0)),
        ))
    return listed
