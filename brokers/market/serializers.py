"""The market endpoints' bodies: the quotes request as seed 002 sends it, and (for the schema) what they answer.

The answers themselves are made by brokers/market/render.py, the one place
that shapes market data; these serializers describe that shape to OpenAPI.
"""

from __future__ import annotations

from rest_framework import serializers

from brokers.domain import QuoteKind
from brokers.market import keys
from budhitrade.errors import InvalidInput

PRICE = {"allow_null": True, "help_text": "Rupees, a JSON number (2500.5); null where the broker sent none."}


class InstrumentTokenSerializer(serializers.Serializer):
    instrument_token = serializers.CharField(help_text="The broker's token; for an index also Kotak's name "
                                                       "(\"Nifty 50\", \"Nifty Bank\").")
    exchange_segment = serializers.ChoiceField(choices=list(keys.SEGMENT_EXCHANGES))


class QuotesInputSerializer(serializers.Serializer):
    """Seed 002's quotes body."""

    instrument_tokens = InstrumentTokenSerializer(many=True, help_text=f"1 to {keys.SOCKET_INSTRUMENTS}.")
    quote_type = serializers.ChoiceField(choices=QuoteKind.values, default=QuoteKind.ALL.value, required=False)


def quotes_input(data) -> tuple[list, QuoteKind]:
    """(instrument_tokens, quote type) of a quotes body, each problem named (the items' own shape is resolve's)."""
    if not isinstance(data, dict):
        raise InvalidInput("The body must be a JSON object with instrument_tokens and quote_type.")
    raw_kind = data.get("quote_type", QuoteKind.ALL.value)
    if raw_kind is None or (isinstance(raw_kind, str) and not raw_kind.strip()):
        raw_kind = QuoteKind.ALL.value
    if not isinstance(raw_kind, str) or raw_kind.strip().lower() not in QuoteKind.values:
        raise InvalidInput(f"Unknown quote_type {raw_kind!r}; use one of {', '.join(QuoteKind.values)}.",
                           errors={"quote_type": ["Unknown quote type."]})
    tokens = data.get("instrument_tokens")
    if not isinstance(tokens, list):
        raise InvalidInput("instrument_tokens must be a list of {instrument_token, exchange_segment} objects.",
                           errors={"instrument_tokens": ["A list is required."]})
    if not tokens:
        raise InvalidInput("instrument_tokens is empty; name at least one instrument.",
                           errors={"instrument_tokens": ["At least one instrument is required."]})
    if len(tokens) > keys.SOCKET_INSTRUMENTS:
        raise InvalidInput(f"At most {keys.SOCKET_INSTRUMENTS} instruments a request; {len(tokens)} were sent.",
                           errors={"instrument_tokens": [f"At most {keys.SOCKET_INSTRUMENTS}."]})
    return tokens, QuoteKind(raw_kind.strip().lower())


class DepthLevelSerializer(serializers.Serializer):
    price = serializers.FloatField(**PRICE)
    quantity = serializers.IntegerField()
    orders = serializers.IntegerField(allow_null=True)


class DepthSerializer(serializers.Serializer):
    buy = DepthLevelSerializer(many=True, help_text="Up to five levels, best first.")
    sell = DepthLevelSerializer(many=True, help_text="Up to five levels, best first.")


class MarketDataSerializer(serializers.Serializer):
    """One instrument's market data, as the market socket's `market_data.data` carries it; a quote type adds
    the keys it asks for, and every key it names is present (null where the broker sent nothing)."""

    instrument_token = serializers.CharField()
    exchange_segment = serializers.CharField()
    ltp = serializers.FloatField(**PRICE)
    timestamp = serializers.DateTimeField(allow_null=True, help_text="ISO 8601 UTC: the exchange's time where the "
                                                                     "broker sent one, else the last trade's, else "
                                                                     "when it was received.")
    open = serializers.FloatField(required=False, **PRICE)
    high = serializers.FloatField(required=False, **PRICE)
    low = serializers.FloatField(required=False, **PRICE)
    close = serializers.FloatField(required=False, allow_null=True, help_text="The previous session's close, rupees.")
    change = serializers.FloatField(required=False, **PRICE)
    volume = serializers.IntegerField(required=False, allow_null=True)
    average_price = serializers.FloatField(required=False, **PRICE)
    last_quantity = serializers.IntegerField(required=False, allow_null=True)
    oi = serializers.IntegerField(required=False, allow_null=True)
    oi_day_high = serializers.IntegerField(required=False, allow_null=True)
    oi_day_low = serializers.IntegerField(required=False, allow_null=True)
    buy_quantity = serializers.IntegerField(required=False, allow_null=True)
    sell_quantity = serializers.IntegerField(required=False, allow_null=True)
    last_trade_time = serializers.DateTimeField(required=False, allow_null=True)
    depth = DepthSerializer(required=False, help_text="depth and all.")
    week_52_high = serializers.FloatField(required=False, **PRICE)
    week_52_low = serializers.FloatField(required=False, **PRICE)
    upper_circuit = serializers.FloatField(required=False, **PRICE)
    lower_circuit = serializers.FloatField(required=False, **PRICE)


class InstrumentRowSerializer(serializers.Serializer):
    """One instrument of a stored master or the paper listing."""

    instrument_token = serializers.CharField(help_text="What quotes and the market socket take.")
    exchange_segment = serializers.CharField()
    trading_symbol = serializers.CharField()
    name = serializers.CharField(allow_null=True)
    isin = serializers.CharField(allow_null=True, help_text="Where the listing keeps one (the paper listing).")
    instrument_type = serializers.CharField(allow_null=True, help_text="EQ, INDEX, FUT, CE or PE")
    expiry = serializers.DateField(allow_null=True)
    strike = serializers.FloatField(allow_null=True, help_text="Rupees; options only.")
    option_type = serializers.CharField(allow_null=True, help_text="CE or PE; options only.")
    lot_size = serializers.IntegerField(allow_null=True)
    tick_size = serializers.FloatField(allow_null=True, help_text="Rupees.")


class QuoteDetailsSerializer(MarketDataSerializer):
    """A quote with `scrip_details` (or `all`): the instrument's details as well."""

    trading_symbol = serializers.CharField(required=False)
    name = serializers.CharField(required=False, allow_null=True)
    isin = serializers.CharField(required=False, allow_null=True)
    instrument_type = serializers.CharField(required=False, allow_null=True)
    expiry = serializers.DateField(required=False, allow_null=True)
    strike = serializers.FloatField(required=False, allow_null=True)
    option_type = serializers.CharField(required=False, allow_null=True)
    lot_size = serializers.IntegerField(required=False, allow_null=True)
    tick_size = serializers.FloatField(required=False, allow_null=True)


class QuotesOutputSerializer(serializers.Serializer):
    status = serializers.CharField()
    quote_type = serializers.CharField()
    data = QuoteDetailsSerializer(many=True, help_text="One per instrument asked, in the order asked.")


class InstrumentPageSerializer(serializers.Serializer):
    """A page of the scrip master; the search's pages are the same with `q` (InstrumentSearchSerializer)."""

    status = serializers.CharField()
    exchange_segment = serializers.CharField(allow_null=True)
    count = serializers.IntegerField(help_text="Instruments in the whole listing (for the segment).")
    offset = serializers.IntegerField()
    limit = serializers.IntegerField()
    next = serializers.URLField(allow_null=True, help_text="The next page, or null on the last.")
    data = InstrumentRowSerializer(many=True)


class InstrumentSearchSerializer(InstrumentPageSerializer):
    """A page of the instrument search: the scrip master's page with the query, and only this page counted."""

    q = serializers.CharField()
    count = serializers.IntegerField(help_text="Instruments on this page.")
    next = serializers.URLField(allow_null=True, help_text="The next page, or null when this one was not full.")
