"""Seed 002's market data over REST: quotes, the scrip master, and the instrument search, for "the" account.

"The" account is found by the contract's rules (X-Account-ID, ?broker=, or
the only one); a user with no account at all gets the paper market. Each
answer has one shape whatever the broker: the instruments as the market
socket names them, their data as brokers/market/render.py makes it.
"""

from __future__ import annotations

import logging

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.market import keys
from brokers.market.listing import instrument_page, instrument_search, market_connection, segment_exchange
from brokers.market.quotes import quotes_rendered
from brokers.market.resolve import resolve_instruments
from brokers.market.serializers import (
    InstrumentPageSerializer,
    InstrumentSearchSerializer,
    QuotesInputSerializer,
    QuotesOutputSerializer,
    quotes_input,
)
from brokers.views import ACCOUNT_PARAMETERS
from budhitrade.errors import InvalidInput

logger = logging.getLogger("budhitrade.brokers")

SCRIP_MASTER_LIMIT, SCRIP_MASTER_MAX = 1000, 5000
SEARCH_LIMIT, SEARCH_MAX, SEARCH_OFFSET_MAX = 20, 100, 1000
QUERY_LENGTH = 64


def _whole(request, name: str, *, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name, "").strip() or str(default)
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}.",
                           errors={name: [f"{low} to {high}."]})
    return int(raw)


def _next_url(request, *, offset: int) -> str:
    query = request.query_params.copy()
    query["offset"] = str(offset)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


SEGMENT_PARAMETER = OpenApiParameter("exchange_segment", str, required=False, enum=list(keys.SEGMENT_EXCHANGES),
                                     description="Kotak's segment name; every segment when not given.")


class MarketQuotesView(APIView):
    """Seed 002: quotes for up to 3,000 instruments, asked of the account's broker (or the paper market) live."""

    @extend_schema(operation_id="market_quotes", request=QuotesInputSerializer, parameters=ACCOUNT_PARAMETERS,
                   responses={200: QuotesOutputSerializer})
    def post(self, request):
        tokens, kind = quotes_input(request.data)
        connection = market_connection(request)
        resolved = resolve_instruments(connection=connection, items=tokens)
        data, priced = quotes_rendered(connection=connection, resolved=resolved, kind=kind)
        logger.info("market_quotes_fetched", extra={
            "broker": connection.broker if connection else "paper",
            "account_id": connection.account_id if connection else "", "quote_type": kind.value,
            "instruments": len(data), "priced": priced})
        return Response({"status": "success", "quote_type": kind.value, "data": data})


class MarketScripMasterView(APIView):
    """Seed 002: the account's instrument listing (the broker's stored master, or the paper exchange's), a page
    at a time in exchange and symbol order."""

    @extend_schema(operation_id="market_scrip_master", parameters=[
        SEGMENT_PARAMETER,
        OpenApiParameter("limit", int, required=False,
                         description=f"1-{SCRIP_MASTER_MAX}, default {SCRIP_MASTER_LIMIT}"),
        OpenApiParameter("offset", int, required=False, description="Instruments to skip, default 0"),
        *ACCOUNT_PARAMETERS], responses={200: InstrumentPageSerializer})
    def get(self, request):
        segment = request.query_params.get("exchange_segment")
        exchange = segment_exchange(segment)
        limit = _whole(request, "limit", default=SCRIP_MASTER_LIMIT, low=1, high=SCRIP_MASTER_MAX)
        offset = _whole(request, "offset", default=0, low=0, high=10**7)
        total, rows = instrument_page(connection=market_connection(request), exchange=exchange, offset=offset,
                                      limit=limit)
        more = offset + len(rows) < total
        return Response({"status": "success", "exchange_segment": segment.strip().lower() if exchange else None,
                         "count": total, "offset": offset, "limit": limit,
                         "next": _next_url(request, offset=offset + limit) if more else None, "data": rows})


class MarketInstrumentsView(APIView):
    """Instrument search over the account's listing by symbol or name, any case: symbol prefixes first."""

    @extend_schema(operation_id="market_instruments", parameters=[
        OpenApiParameter("q", str, required=True, description="Part of a trading symbol or name"),
        SEGMENT_PARAMETER,
        OpenApiParameter("limit", int, required=False, description=f"1-{SEARCH_MAX}, default {SEARCH_LIMIT}"),
        OpenApiParameter("offset", int, required=False, description=f"0-{SEARCH_OFFSET_MAX}, default 0"),
        *ACCOUNT_PARAMETERS], responses={200: InstrumentSearchSerializer})
    def get(self, request):
        query = request.query_params.get("q", "").strip()
        if not query:
            raise InvalidInput("q is required: part of a trading symbol or name.", errors={"q": ["Required."]})
        if len(query) > QUERY_LENGTH:
            raise InvalidInput(f"q is at most {QUERY_LENGTH} characters.", errors={"q": ["Too long."]})
        segment = request.query_params.get("exchange_segment")
        exchange = segment_exchange(segment)
        limit = _whole(request, "limit", default=SEARCH_LIMIT, low=1, high=SEARCH_MAX)
        offset = _whole(request, "offset", default=0, low=0, high=SEARCH_OFFSET_MAX)
        rows = instrument_search(connection=market_connection(request), query=query, exchange=exchange,
                                 offset=offset, limit=limit)
        full = len(rows) == limit and offset + limit <= SEARCH_OFFSET_MAX
        return Response({"status": "success", "q": query,
                         "exchange_segment": segment.strip().lower() if exchange else None, "count": len(rows),
                         "offset": offset, "limit": limit,
                         "next": _next_url(request, offset=offset + limit) if full else None, "data": rows})
