"""The futures endpoints' query parameters (each problem a 400 naming it) and, for the schema, their answers.

The answers are made by analytics/futures.py; these serializers describe seed 004 §8's shapes to OpenAPI,
with BudhiTrade's additions (the bar's OHLC and volume, the contract and its expiry, the bucket answered).
"""

from __future__ import annotations

import re

from rest_framework import serializers

from analytics.futures import ROLLOVER_WINDOW_DAYS, PositionSignal
from analytics.timeframes import SYMBOL_ALIASES, TIMEFRAMES, symbol_underlying
from budhitrade.errors import InvalidInput

DEFAULT_TIMEFRAME = "5min"
DEFAULT_HOURS, MAX_HOURS = 6, 720  # 720 hours: the 30 days snapshots are kept by default
CONTRACT = re.compile(r"^[A-Z0-9&-]{1,64}$")
SYMBOLS = ", ".join(dict.fromkeys(SYMBOL_ALIASES.values()))


def futures_symbol(params) -> str:
    """The stored underlying `symbol` names (NIFTY, NIFTY50, BANKNIFTY, any case)."""
    raw = params.get("symbol", "").strip()
    if not raw:
        raise InvalidInput(f"symbol is required: one of {SYMBOLS}.", errors={"symbol": ["Required."]})
    underlying = symbol_underlying(raw)
    if underlying is None:
        raise InvalidInput(f"symbol {raw[:32]!r} is not a symbol; use one of {SYMBOLS}.",
                           errors={"symbol": ["Not a symbol."]})
    return underlying


def futures_timeframe(params) -> str:
    raw = params.get("timeframe", "").strip().lower() or DEFAULT_TIMEFRAME
    if raw not in TIMEFRAMES:
        raise InvalidInput(f"Unknown timeframe; use one of {', '.join(TIMEFRAMES)}.",
                           errors={"timeframe": ["Unknown timeframe."]})
    return raw


def futures_hours(params) -> int:
    raw = params.get("hours", "").strip() or str(DEFAULT_HOURS)
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_HOURS:
        raise InvalidInput(f"hours must be a whole number from 1 to {MAX_HOURS}.",
                           errors={"hours": [f"1 to {MAX_HOURS}."]})
    return int(raw)


def futures_contract(params) -> str | None:
    """A futures trading symbol (NIFTY26DECFUT, any case), or None for the current month."""
    raw = params.get("contract", "").strip().upper()
    if not raw:
        return None
    if not CONTRACT.match(raw):
        raise InvalidInput("contract must be a futures trading symbol such as NIFTY26DECFUT.",
                           errors={"contract": ["Not a trading symbol."]})
    return raw


PRICE = {"help_text": "Rupees, a JSON number."}


class PositionSignalRowSerializer(serializers.Serializer):
    time = serializers.CharField(help_text="The bar's start, ISO 8601 in UTC with a Z (seed 004).")
    bucket_time = serializers.IntegerField(help_text="The bar's start in Unix seconds.")
    contract = serializers.CharField()
    open = serializers.FloatField(**PRICE)
    high = serializers.FloatField(**PRICE)
    low = serializers.FloatField(**PRICE)
    close = serializers.FloatField(**PRICE)
    volume = serializers.IntegerField(help_text="The day's cumulative volume at the bar's close.")
    open_interest = serializers.IntegerField(help_text="OI at the bar's close.")
    price_change_pct = serializers.FloatField(
        allow_null=True, help_text="Close against the previous bar's, percent; null for the contract's first bar.")
    oi_change_pct = serializers.FloatField(
        allow_null=True, help_text="OI against the previous bar's, percent; null for the first bar or from zero OI.")
    position_signal = serializers.ChoiceField(
        choices=PositionSignal.values,
        help_text="LONG_BUILDUP price up OI up, SHORT_BUILDUP price down OI up, SHORT_COVERING price up OI down, "
                  "LONG_UNWINDING price down OI down; NEUTRAL when the close or the OI is unchanged (or no "
                  "previous bar).")
    signal_strength = serializers.FloatField(
        min_value=0, max_value=1,
        help_text="0 to 1: the geometric mean of each change's score x / (1 + x), x its size over the series' "
                  "median absolute change on that axis (a typical move 0.5); 0 when NEUTRAL.")


class PositionSignalsSerializer(serializers.Serializer):
    """Seed 004 §8.1."""

    status = serializers.CharField(help_text="\"success\"")
    symbol = serializers.CharField(help_text="The underlying (NIFTY50 is answered as NIFTY).")
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES))
    hours = serializers.IntegerField()
    contract = serializers.CharField(help_text="The contract answered: the one asked for, or the current month.")
    expiry = serializers.DateField()
    series = PositionSignalRowSerializer(many=True, help_text="Oldest first; the last bar may still be filling.")


class RolloverExpirySerializer(serializers.Serializer):
    expiry = serializers.DateField()
    contract = serializers.CharField()
    total_oi = serializers.IntegerField()
    oi_pct = serializers.FloatField(help_text="Share of all unexpired contracts' OI, percent to one decimal; the "
                                              "shares sum to 100.0 (0.0 each when there is no OI).")
    days_to_expiry = serializers.IntegerField(help_text="IST calendar days from the snapshot's date; 0 on expiry day.")
    rollover_pressure = serializers.FloatField(
        min_value=0, max_value=1,
        help_text=f"Near month: its OI fraction x clamp(1 - days_to_expiry / {ROLLOVER_WINDOW_DAYS}, 0, 1), "
                  f"rising through the expiry week to its whole share on expiry day; 0 for later months.")


class RolloverMetricsSerializer(serializers.Serializer):
    """Seed 004 §8.2."""

    status = serializers.CharField(help_text="\"success\"")
    symbol = serializers.CharField()
    bucket_time = serializers.IntegerField(help_text="The snapshot answered (the latest), Unix seconds.")
    time = serializers.CharField(help_text="The same, ISO 8601 in UTC with a Z.")
    expiries = RolloverExpirySerializer(many=True, help_text="Unexpired expiries, nearest first.")
