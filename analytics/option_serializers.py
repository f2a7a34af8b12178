"""The option endpoints' query parameters (each problem a 400 naming it) and, for the schema, their answers.

The answers are made by analytics/option_views.py from analytics/chain.py's rules; these serializers describe
CONTRACT "Analytics" and seed 004 §7's shapes to OpenAPI, with BudhiTrade's additions noted on each field.
"""

from __future__ import annotations

from datetime import date

from rest_framework import serializers

from analytics.timeframes import SYMBOL_ALIASES, TIMEFRAMES, symbol_underlying
from budhitrade.errors import InvalidInput

DEFAULT_TIMEFRAME = "5min"
DEFAULT_HOURS, MAX_HOURS = 6, 720  # as the futures endpoints: the 30 days snapshots are kept by default
DEFAULT_DEPTH, MAX_DEPTH = 5, 20
MAX_EXPIRIES = 8
SYMBOLS = ", ".join(dict.fromkeys(SYMBOL_ALIASES.values()))
DISTRIBUTION_INDICATORS = ("iv", "delta", "gamma", "theta", "vega", "oi", "oi_change", "pcr")
MONEYNESS_INDICATORS = ("iv", "delta", "gamma", "oi", "pcr", "premium_abs", "premium_pct")


def _bad(name: str, detail: str, reason: str):
    return InvalidInput(detail, errors={name: [reason]})


def param_symbol(params) -> str:
    """The stored underlying `symbol` names (NIFTY, NIFTY50, BANKNIFTY, any case)."""
    raw = params.get("symbol", "").strip()
    if not raw:
        raise _bad("symbol", f"symbol is required: one of {SYMBOLS}.", "Required.")
    underlying = symbol_underlying(raw)
    if underlying is None:
        raise _bad("symbol", f"symbol {raw[:32]!r} is not a symbol; use one of {SYMBOLS}.", "Not a symbol.")
    return underlying


def param_choice(params, name: str, choices: tuple[str, ...], default: str) -> str:
    raw = params.get(name, "").strip().lower() or default
    if raw not in choices:
        raise _bad(name, f"Unknown {name} {raw[:32]!r}; use one of {', '.join(choices)}.", f"Unknown {name}.")
    return raw


def param_timeframe(params) -> str:
    return param_choice(params, "timeframe", tuple(TIMEFRAMES), DEFAULT_TIMEFRAME)


def param_whole(params, name: str, *, default: int, low: int, high: int) -> int:
    raw = params.get(name, "").strip() or str(default)
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise _bad(name, f"{name} must be a whole number from {low} to {high}.", f"{low} to {high}.")
    return int(raw)


def param_bucket_time(params) -> int | None:
    """`bucket_time` in Unix seconds, or None for the latest bucket."""
    raw = params.get("bucket_time", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 11:
        raise _bad("bucket_time", "bucket_time must be a Unix time in seconds, such as 1699334400.",
                   "Unix seconds.")
    return int(raw)


def param_expiries(params, *, most: int = MAX_EXPIRIES) -> list[date]:
    """`expiry[]` (or `expiry`), repeated or comma-separated, as dates ascending; [] for the nearest."""
    name = "expiry" if most == 1 else "expiry[]"
    values = [*params.getlist("expiry[]"), *params.getlist("expiry")]
    expiries = set()
    for value in values:
        for part in value.split(","):
            if not part.strip():
                continue
            try:
                expiries.add(date.fromisoformat(part.strip()))
            except ValueError:
                raise _bad(name, f"expiry {part.strip()[:32]!r} is not a date; use YYYY-MM-DD.",
                           "YYYY-MM-DD.") from None
    if len(expiries) > most:
        raise _bad(name, f"{name}: at most {most} a request; {len(expiries)} were sent.", f"At most {most}.")
    return sorted(expiries)


# --- answers, for the schema ---------------------------------------------------------------------------------

PRICE = {"allow_null": True, "help_text": "Rupees, a JSON number; null where none is stored."}
STRIKE = {"help_text": "A JSON number (24500)."}
INDICATOR_VALUE = ("The indicator's value: IV as a fraction (0.1823 = 18.23%); delta, gamma; theta per calendar "
                   "day; vega per vol point; oi in contracts; oi_change = OI now minus OI at the session's first "
                   "bucket (null for a contract not stored then). Null where the side is filtered out by "
                   "option_side, the contract is not listed, the value cannot be computed, or the indicator is pcr.")


class StrikePointSerializer(serializers.Serializer):
    strike = serializers.FloatField(**STRIKE)
    call = serializers.FloatField(allow_null=True, help_text=INDICATOR_VALUE)
    put = serializers.FloatField(allow_null=True, help_text=INDICATOR_VALUE)
    value = serializers.FloatField(allow_null=True, help_text="pcr only: put OI over call OI at this strike "
                                                              "(null when the call has no OI); else null.")
    call_oi = serializers.IntegerField(allow_null=True, help_text="Null where the call is not listed.")
    put_oi = serializers.IntegerField(allow_null=True)
    call_volume = serializers.IntegerField(allow_null=True, help_text="The day's volume so far.")
    put_volume = serializers.IntegerField(allow_null=True)


class StrikeSeriesSerializer(serializers.Serializer):
    expiry = serializers.DateField()
    future_price = serializers.FloatField(**PRICE | {"help_text": "The expiry's forward (its listed future, else "
                                                                 "put-call parity), rupees."})
    atm_strike = serializers.FloatField(allow_null=True, help_text="The listed strike nearest the forward.")
    points = StrikePointSerializer(many=True, help_text="Every listed strike, ascending.")


class StrikeDistributionSerializer(serializers.Serializer):
    """CONTRACT "Analytics": seed 004 §7.1."""

    status = serializers.CharField(default="success")
    symbol = serializers.CharField(help_text="The underlying (NIFTY50 is answered as NIFTY).")
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES))
    indicator = serializers.ChoiceField(choices=DISTRIBUTION_INDICATORS)
    option_side = serializers.ChoiceField(choices=("call", "put", "both"))
    bucket_time = serializers.IntegerField(help_text="The timeframe bucket answered (its start, Unix seconds); "
                                                     "its state is the last one-minute snapshot inside it.")
    underlying_price = serializers.FloatField(**PRICE | {"help_text": "The spot, rupees."})
    series = StrikeSeriesSerializer(many=True, help_text="One per expiry asked for, nearest first.")


class MoneynessPointSerializer(serializers.Serializer):
    bucket_time = serializers.IntegerField(help_text="The timeframe bucket's start, Unix seconds.")
    moneyness = serializers.CharField(help_text="ATM, ITM1..ITMn, OTM1..OTMn.")
    strike = serializers.FloatField(help_text="BudhiTrade's addition: the strike this label meant in this bucket.")
    value = serializers.FloatField(
        allow_null=True,
        help_text="The option_side contract's indicator at this strike: IV as a fraction, delta, gamma, OI, "
                  "premium_abs its LTP in rupees, premium_pct its LTP as a percent of the spot; pcr put OI over "
                  "call OI at the strike (side-less). Null where the strike is not listed or has no value.")
    volume = serializers.IntegerField(allow_null=True, help_text="The option_side contract's volume so far today.")
    oi = serializers.IntegerField(allow_null=True, help_text="The option_side contract's OI.")


class MoneynessExpirySerializer(serializers.Serializer):
    expiry = serializers.DateField()
    data = MoneynessPointSerializer(many=True, help_text="Oldest bucket first; in each, ATM, ITM1..n, OTM1..n.")


class MoneynessSeriesSerializer(serializers.Serializer):
    """Seed 004 §7.2."""

    status = serializers.CharField(default="ok", help_text="\"ok\", as seed 004 writes it.")
    symbol = serializers.CharField(help_text="The underlying (NIFTY50 is answered as NIFTY).")
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES))
    indicator = serializers.ChoiceField(choices=MONEYNESS_INDICATORS)
    option_side = serializers.ChoiceField(choices=("call", "put"))
    hours = serializers.IntegerField()
    depth = serializers.IntegerField()
    series = MoneynessExpirySerializer(many=True)


class ChainSummarySerializer(serializers.Serializer):
    """CONTRACT "Analytics": what a chain screen shows first, at the latest bucket."""

    status = serializers.CharField(default="success")
    symbol = serializers.CharField()
    expiry = serializers.DateField()
    bucket_time = serializers.IntegerField(help_text="The one-minute snapshot answered, Unix seconds.")
    underlying_price = serializers.FloatField(**PRICE | {"help_text": "The spot, rupees."})
    future_price = serializers.FloatField(**PRICE | {"help_text": "The expiry's forward (its listed future, else "
                                                                 "put-call parity), rupees."})
    atm_strike = serializers.FloatField(allow_null=True, help_text="The listed strike nearest the forward.")
    atm_iv = serializers.FloatField(allow_null=True, help_text="Mean of the ATM call's and put's IV (a fraction).")
    atm_straddle_premium = serializers.FloatField(**PRICE | {"help_text": "ATM call LTP + put LTP, rupees."})
    pcr_oi = serializers.FloatField(allow_null=True, help_text="All puts' OI over all calls' OI.")
    pcr_volume = serializers.FloatField(allow_null=True, help_text="All puts' volume over all calls' volume.")
    max_pain = serializers.FloatField(
        allow_null=True, help_text="Over every listed strike K*, the one minimising sum of call_oi * max(K* - K, 0) "
                                   "+ put_oi * max(K - K*, 0): where writers pay least at expiry.")
    max_call_oi_strike = serializers.FloatField(allow_null=True, help_text="Resistance: the most call OI.")
    max_put_oi_strike = serializers.FloatField(allow_null=True, help_text="Support: the most put OI.")
    max_call_oi_change_strike = serializers.FloatField(
        allow_null=True, help_text="The largest call OI change against the session's first bucket.")
    max_put_oi_change_strike = serializers.FloatField(allow_null=True)
    basis = serializers.FloatField(**PRICE | {"help_text": "future_price - underlying_price, rupees."})


class StraddlePointSerializer(serializers.Serializer):
    bucket_time = serializers.IntegerField(help_text="The timeframe bucket's start, Unix seconds.")
    atm_strike = serializers.FloatField(help_text="That bucket's ATM strike (it follows the forward).")
    call = serializers.FloatField(**PRICE | {"help_text": "The ATM call's LTP, rupees."})
    put = serializers.FloatField(**PRICE | {"help_text": "The ATM put's LTP, rupees."})
    premium = serializers.FloatField(**PRICE | {"help_text": "call + put; null unless both are quoted."})


class StraddleSeriesSerializer(serializers.Serializer):
    """CONTRACT "Analytics": the ATM straddle through the window, following the ATM strike."""

    status = serializers.CharField(default="success")
    symbol = serializers.CharField()
    expiry = serializers.DateField()
    timeframe = serializers.ChoiceField(choices=list(TIMEFRAMES))
    hours = serializers.IntegerField()
    series = StraddlePointSerializer(many=True, help_text="Oldest first.")
