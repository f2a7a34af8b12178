"""Seed 004 §8: futures position signals and rollover metrics, read from the stored futures snapshots.

What the numbers mean (signals, strength, the default contract, shares and pressure) is written down where
it is computed, in analytics/futures.py.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.futures import iso_z, position_signals, rollover_metrics
from analytics.futures_serializers import (
    DEFAULT_HOURS,
    DEFAULT_TIMEFRAME,
    MAX_HOURS,
    SYMBOLS,
    PositionSignalsSerializer,
    RolloverMetricsSerializer,
    futures_contract,
    futures_hours,
    futures_symbol,
    futures_timeframe,
)
from analytics.timeframes import TIMEFRAMES

SYMBOL_PARAMETER = OpenApiParameter("symbol", str, required=True,
                                    description=f"The underlying: {SYMBOLS} (NIFTY50 names NIFTY).")


class PositionSignalsView(APIView):
    """Each bar's price and OI change against the previous bar, read as long/short buildup, covering or
    unwinding, for one futures contract over the last hours of snapshots."""

    @extend_schema(operation_id="futures_position_signals", parameters=[
        SYMBOL_PARAMETER,
        OpenApiParameter("timeframe", str, required=False, enum=list(TIMEFRAMES),
                         description=f"Bar length, default {DEFAULT_TIMEFRAME}."),
        OpenApiParameter("contract", str, required=False,
                         description="A futures trading symbol (NIFTY26DECFUT); default the current month, the "
                                     "nearest unexpired contract at the latest snapshot."),
        OpenApiParameter("hours", int, required=False,
                         description=f"1-{MAX_HOURS}, default {DEFAULT_HOURS}: hours of bars up to the latest "
                                     f"snapshot."),
    ], responses={200: PositionSignalsSerializer})
    def get(self, request):
        params = request.query_params
        underlying = futures_symbol(params)
        timeframe = futures_timeframe(params)
        hours = futures_hours(params)
        contract = futures_contract(params)
        answer = position_signals(underlying=underlying, seconds=TIMEFRAMES[timeframe], contract=contract,
                                  hours=hours)
        return Response({"status": "success", "symbol": underlying, "timeframe": timeframe, "hours": hours,
                         "contract": answer["contract"], "expiry": answer["expiry"], "series": answer["series"]})


class RolloverMetricsView(APIView):
    """Each unexpired expiry's share of the underlying's futures OI at the latest snapshot, its days to
    expiry, and how hard the near month is pressed to roll."""

    @extend_schema(operation_id="futures_rollover_metrics", parameters=[SYMBOL_PARAMETER],
                   responses={200: RolloverMetricsSerializer})
    def get(self, request):
        underlying = futures_symbol(request.query_params)
        answer = rollover_metrics(underlying=underlying)
        return Response({"status": "success", "symbol": underlying, "bucket_time": answer["bucket_time"],
                         "time": iso_z(answer["bucket_time"]), "expiries": answer["expiries"]})
