"""Kotak Neo's scrip master: GET script-details/1.0/masterscrip/file-paths, then one CSV per segment."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from datetime import timezone as dt_timezone
from decimal import Decimal
from typing import Any

from brokers.adapters.base import BrokerError
from brokers.adapters.kotak_neo.mapping.codes import EXCHANGES
from brokers.calendar import IST
from brokers.domain import INSTRUMENT_NAME_LENGTH, INSTRUMENT_SYMBOL_LENGTH, Instrument

logger = logging.getLogger("budhitrade.brokers")

# The segments whose instruments BudhiTrade loads: every one NeoAPI.place_order takes.
INSTRUMENT_SEGMENTS = ("nse_cm", "bse_cm", "nse_fo", "bse_fo", "mcx_fo")
# Segments Kotak's file list names that are skipped on purpose: currency (`cde_fo`) and NSE's commodity
# derivatives (`nse_com`) cannot be ordered through the SDK, and BudhiTrade has no exchange name for nse_com.
SKIPPED_SEGMENTS = ("cde_fo", "nse_com")
# NSE's derivative expiries count seconds from 1980-01-01, the others from 1970 (the SDK's scrip_search).
NSE_FO_EPOCH_OFFSET = 315511200
OPTION_TYPES = {"CE": "CE", "PE": "PE", "XX": "FUT"}
SCRIP_MASTER_COLUMNS = {"pSymbol", "pTrdSymbol", "pSymbolName", "pOptionType", "lLotSize", "dTickSize", "pExpiryDate"}


def scrip_master_answer(payload: Any) -> Any:
    """NeoAPI.scrip_master hands back the answer's `data` (its file list) or its own error dict."""
    if isinstance(payload, dict) and "filesPaths" in payload:
        return {"data": payload}
    return payload


def _segment_of(url: Any) -> str:
    """The segment a file address is for: …/nse_cm-v1.csv and …/nse_cm.csv are nse_cm."""
    name = str(url).rsplit("/", 1)[-1].lower()
    return re.split(r"[.-]", name, maxsplit=1)[0]


def scrip_master_files(payload: Mapping[str, Any]) -> dict[str, str]:
    """The CSV address of each segment BudhiTrade loads, by segment (nse_cm, nse_fo, ...); all of them or
    BrokerError.

    The other files the list names are not downloaded: SKIPPED_SEGMENTS on
    purpose (logged at info, `kotak_neo_segment_skipped`), any segment Kotak
    adds later as `kotak_neo_unknown_value`, since it may need loading.
    """
    found = {}
    for url in payload["data"].get("filesPaths") or []:
        segment = _segment_of(url)
        if segment in INSTRUMENT_SEGMENTS:
            found[segment] = str(url)
        elif segment in SKIPPED_SEGMENTS:
            logger.info("kotak_neo_segment_skipped", extra={"segment": segment})
        else:
            EXCHANGES.from_wire(segment)  # logs an unknown segment once
    missing = [segment for segment in INSTRUMENT_SEGMENTS if segment not in found]
    if missing:
        raise BrokerError(f"Kotak Neo's scrip master lists no file for {', '.join(missing)}.")
    return {segment: found[segment] for segment in INSTRUMENT_SEGMENTS}


def scrip_master_day(urls: Iterable[str]) -> date | None:
    """The oldest day the file addresses carry (…/prod/2026-12-01/…), if they carry one."""
    days = []
    for url in urls:
        match = re.search(r"/(\d{4})-(\d{2})-(\d{2})/", str(url))
        if match:
            days.append(date(*(int(part) for part in match.groups())))
    return min(days) if days else None


def _number(value: Any) -> Decimal:
    try:
        return Decimal(str(value).strip() or "0")
    except ArithmeticError:
        raise BrokerError(f"Kotak Neo's scrip master has an unreadable number: {value!r}.") from None


def _expiry(value: Any, segment: str) -> date | None:
    seconds = int(_number(value))
    if seconds <= 0:
        return None
    if segment == "nse_fo":
        seconds += NSE_FO_EPOCH_OFFSET
    return datetime.fromtimestamp(seconds, tz=dt_timezone.utc).astimezone(IST).date()


def instruments_from_scrip_master(segment: str, text: str) -> list[Instrument]:
    """One segment's scrip master CSV.

    Prices are in paise unless lPrecision says otherwise (dStrikePrice; and
    dTickSize; a tick of 0 is not checked); pOptionType is CE, PE, or XX for
    a future. Cash-market rows are equity, except the indices Kotak lists
    among them (NIFTY, BANKNIFTY, FINNIFTY, MIDCPNIFTY: dTickSize or
    lLotSize -1), which are INDEX: quotable and streamable, never ordered,
    kept with lot 1 and no tick.
    """
    exchange = EXCHANGES.table[segment]
    derivatives = segment.endswith("_fo")
    reader = csv.DictReader(io.StringIO(text))
    columns = {(name or "").strip() for name in reader.fieldnames or ()}
    missing = sorted(SCRIP_MASTER_COLUMNS - columns)
    if missing:
        raise BrokerError(f"Kotak Neo's {segment} scrip master lacks the columns {', '.join(missing)}.")
    listed = []
    for raw in reader:
        # a row with more fields than the header puts the rest in a list under None: ignored
        row = {key.strip(): value.strip() for key, value in raw.items() if key and isinstance(value, str)}
        symbol = row.get("pTrdSymbol")
        if not symbol or len(symbol) > INSTRUMENT_SYMBOL_LENGTH:
            continue
        tick = _number(row.get("dTickSize") or "0")
        lot = int(_number(row.get("lLotSize") or "1"))
        if derivatives:
            kind = OPTION_TYPES.get(row.get("pOptionType", "").upper())
            if kind is None:
                continue
        elif tick < 0 or lot < 0:
            kind = "INDEX"
        else:
            kind = "EQ"
        scale = Decimal(10) ** int(_number(row.get("lPrecision") or "2"))
        if kind == "INDEX":
            lot_size, tick_size = 1, Decimal("0")
        else:
            # MCX quantities are in lots at Kotak while lLotSize may be in units: its lot is not checked
            lot_size = 1 if segment == "mcx_fo" else lot or 1
            tick_size = max(tick, Decimal(0)) / scale
        listed.append(Instrument(
            exchange=exchange, tradingsymbol=symbol, token=row.get("pSymbol", ""),
            name=row.get("pSymbolName", "")[:INSTRUMENT_NAME_LENGTH], instrument_type=kind, lot_size=lot_size,
            tick_size=tick_size,
            expiry=_expiry(row.get("pExpiryDate") or "0", segment) if derivatives else None,
            strike=max(_number(row.get("dStrikePrice;") or "0"), Decimal(0)) / scale if kind in ("CE", "PE") else Decimal(0),
        ))
    return listed
