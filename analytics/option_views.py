"""Seed 004 §7's option endpoints and BudhiTrade's chain summary and straddle series, read from the snapshots.

Analytics is market-wide: any signed-in user gets the same answer (a JWT, no account). The rules behind each
number are written down in analytics/chain.py and analytics/option_reports.py.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import option_reports as reports
from analytics.option_serializers import (
    DEFAULT_DEPTH,
    DEFAULT_HOURS,
    DEFAULT_TIMEFRAME,
    DISTRIBUTION_INDICATORS,
    MAX_DEPTH,
    MAX_EXPIRIES,
    MAX_HOURS,
    MONEYNESS_INDICATORS,
    SYMBOLS,
    ChainSummarySerializer,
    MoneynessSeriesSerializer,
    StraddleSeriesSerializer,
    StrikeDistributionSerializer,
    param_bucket_time,
    param_choice,
    param_expiries,
    param_symbol,
    param_timeframe,
    param_whole,
)
from analytics.timeframes import TIMEFRAMES

SYMBOL = OpenApiParameter("symbol", str, required=True, description=f"{SYMBOLS} (NIFTY50 names NIFTY; any case).")
TIMEFRAME = OpenApiParameter("timeframe", str, required=False, enum=list(TIMEFRAMES),
                             description=f"Default {DEFAULT_TIMEFRAME}: a longer bucket is the state at its last "
                                         "one-minute snapshot, labelled by its start.")
EXPIRIES = OpenApiParameter("expiry[]", OpenApiTypes.DATE, required=False, many=True,
                            description=f"Up to {MAX_EXPIRIES} expiries (YYYY-MM-DD; `expiry` is taken too, "
                                        "repeated or comma-separated); default the nearest stored.")
EXPIRY = OpenApiParameter("expiry", OpenApiTypes.DATE, required=False,
                          description="YYYY-MM-DD; default the nearest expiry stored at the latest bucket.")
HOURS = OpenApiParameter("hours", int, required=False,
                         description=f"1-{MAX_HOURS}, default {DEFAULT_HOURS}: the window back from the latest "
                                     "stored bucket.")


class StrikeDistributionView(APIView):
    """Seed 004 §7.1: an indicator across every strike of one or more expiries at one bucket."""

    @extend_schema(operation_id="fo_strike_distribution", parameters=[
        SYMBOL, TIMEFRAME,
        OpenApiParameter("indicator", str, required=False, enum=list(DISTRIBUTION_INDICATORS),
                         description="Default iv. oi_change is OI now minus OI at the session's first bucket "
                                     "(null for a contract not stored then); pcr fills `value` (put OI over call "
                                     "OI at the strike) and leaves call/put null."),
        OpenApiParameter("option_side", str, required=False, enum=["call", "put", "both"],
                         description="Default both; the other side's values are null."),
        EXPIRIES,
        OpenApiParameter("bucket_time", int, required=False,
                         description="Unix seconds inside the timeframe bucket wanted; default the latest."),
    ], responses={200: StrikeDistributionSerializer})
    def get(self, request):
        params = request.query_params
        return Response(reports.strike_distribution(
            underlying=param_symbol(params), timeframe=param_timeframe(params),
            indicator=param_choice(params, "indicator", DISTRIBUTION_INDICATORS, "iv"),
            option_side=param_choice(params, "option_side", ("call", "put", "both"), "both"),
            expiries=param_expiries(params), bucket_time=param_bucket_time(params)))


class MoneynessSeriesView(APIView):
    """Seed 004 §7.2: ATM, ITM1..n and OTM1..n through the window, each bucket from its own ATM strike."""

    @extend_schema(operation_id="fo_moneyness_series", parameters=[
        SYMBOL, TIMEFRAME,
        OpenApiParameter("indicator", str, required=False, enum=list(MONEYNESS_INDICATORS),
                         description="Default iv. premium_abs is the LTP in rupees, premium_pct the LTP as a "
                                     "percent of the spot; pcr is put OI over call OI at the strike."),
        OpenApiParameter("option_side", str, required=False, enum=["call", "put"],
                         description="Default call: whose contracts the labels name (a call's ITM strikes are "
                                     "below ATM, a put's above) and whose value, volume and OI are given."),
        HOURS, EXPIRIES,
        OpenApiParameter("depth", int, required=False,
                         description=f"1-{MAX_DEPTH}, default {DEFAULT_DEPTH}: strike steps either side of ATM. "
                                     "ATM is the listed strike nearest the expiry's forward."),
    ], responses={200: MoneynessSeriesSerializer})
    def get(self, request):
        params = request.query_params
        return Response(reports.moneyness_series(
            underlying=param_symbol(params), timeframe=param_timeframe(params),
            indicator=param_choice(params, "indicator", MONEYNESS_INDICATORS, "iv"),
            option_side=param_choice(params, "option_side", ("call", "put"), "call"),
            hours=param_whole(params, "hours", default=DEFAULT_HOURS, low=1, high=MAX_HOURS),
            expiries=param_expiries(params),
            depth=param_whole(params, "depth", default=DEFAULT_DEPTH, low=1, high=MAX_DEPTH)))


def _one_expiry(params):
    expiries = param_expiries(params, most=1)
    return expiries[0] if expiries else None


class ChainSummaryView(APIView):
    """Spot, forward, ATM strike and IV, ATM straddle, PCR, max pain, OI walls and basis at the latest bucket."""

    @extend_schema(operation_id="fo_chain_summary", parameters=[SYMBOL, EXPIRY],
                   responses={200: ChainSummarySerializer})
    def get(self, request):
        params = request.query_params
        return Response(reports.chain_summary(underlying=param_symbol(params), expiry=_one_expiry(params)))


class StraddleSeriesView(APIView):
    """The ATM straddle premium through the window, following the ATM strike as the forward moves."""

    @extend_schema(operation_id="fo_straddle_series", parameters=[SYMBOL, EXPIRY, HOURS, TIMEFRAME],
                   responses={200: StraddleSeriesSerializer})
    def get(self, request):
        params = request.query_params
        return Response(reports.straddle_series(
            underlying=param_symbol(params), expiry=_one_expiry(params), timeframe=param_timeframe(params),
            hours=param_whole(params, "hours", default=DEFAULT_HOURS, low=1, high=MAX_HOURS)))
