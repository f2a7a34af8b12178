"""Seed 001's request bodies and query parameters (in its own words) and its answers' shapes."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers

from brokers.market.serializers import QuoteDetailsSerializer
from brokers.serializers import BrokerStatusOutputSerializer
from compat.kotak_integration import vocabulary as words
from compat.kotak_integration.envelope import envelope
from orders.views import OrderOutputSerializer
from portfolio.serializers import HoldingRowSerializer, PositionRowSerializer

USER_ID_HELP = ("Your own user id or username (the JWT decides; another user's is 404); staff may name any user. "
                "Absent: you.")
# Prices arrive as JSON numbers (2500.0) or numeric strings; 0 is no price (seed 001 sends 0 for a market order).
PRICE = {"max_digits": 14, "decimal_places": 2, "min_value": 0, "required": False, "allow_null": True,
         "coerce_to_string": False}


# A string in the schema, its words in its help text: an enum would be named after the field (order_type,
# validity) and clash with the unified API's enums of other words.
@extend_schema_field(OpenApiTypes.STR)
class WordField(serializers.ChoiceField):
    """One of seed 001's words, any case, read as BudhiTrade's value (`table`: seed 001's word -> BudhiTrade's)."""

    def __init__(self, table: dict[str, str], *, note: str = "", **kwargs):
        self.table = table
        kwargs["help_text"] = f"One of {', '.join(table)}{f': {note}' if note else ''}"
        super().__init__(choices=list(table), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=data)
        try:
            return words.word(self.table, data, name=self.field_name)
        except words.UnknownWord as error:
            raise serializers.ValidationError(str(error)) from error


def _user_id():
    return serializers.CharField(required=False, allow_blank=True, max_length=150, help_text=USER_ID_HELP)


class KotakIntegrationTotpLoginInputSerializer(serializers.Serializer):
    """POST /api/brokers/kotak/login/totp, seed 001's body (read by /broker/connect/initiate's rules)."""

    user_id = _user_id()
    access_token = serializers.CharField(help_text="The Neo app's Trade API access token (Kotak's consumer key), "
                                                   "sent to Kotak as the Authorization header; stored encrypted")
    mobile_number = serializers.CharField(help_text="+919876543210")
    client_code = serializers.CharField(help_text="Your UCC")
    totp = serializers.CharField(help_text="The 6-digit code from your authenticator app")
    environment = serializers.ChoiceField(["prod", "uat"], required=False, help_text="Default prod")


class KotakIntegrationMpinLoginInputSerializer(serializers.Serializer):
    """POST /api/brokers/kotak/login/mpin: the MPIN, and which pending login when the user has several."""

    user_id = _user_id()
    mpin = serializers.RegexField(r"^[0-9]{4,6}$", error_messages={"invalid": "The MPIN is 4 to 6 digits."})
    connection_id = serializers.UUIDField(required=False, help_text="Only when several Kotak logins are pending")


class KotakIntegrationPlaceInputSerializer(serializers.Serializer):
    """POST /api/brokers/kotak/orders/place, seed 001's body; `validated_data` in BudhiTrade's values."""

    user_id = _user_id()
    symbol = serializers.CharField(max_length=50, help_text="RELIANCE, or Kotak's ITC-EQ: either form works on "
                                                            "every broker")
    exchange = WordField(words.words_of(words.ORDER_SEGMENTS), default=words.DEFAULT_EXCHANGE,
                         note="Kotak's segment names, for every broker; default nse_cm")
    quantity = serializers.IntegerField(help_text="A whole number, 1 to 10,000 (a multiple of the lot size)")
    order_type = WordField(words.ORDER_TYPES, note="market or limit")
    price = serializers.DecimalField(**PRICE, help_text="Rupees; required for LMT; 0 (or none) for MKT")
    transaction_type = WordField(words.TRANSACTION_TYPES, note="buy or sell")
    product_type = WordField(words.words_of(words.PRODUCTS), default=words.DEFAULT_PRODUCT,
                             note="delivery, intraday, derivatives; default CNC")
    validity = WordField(words.words_of(words.VALIDITIES), default=words.DEFAULT_VALIDITY,
                         note="default DAY; GTC only where the account's broker takes it, else a 400 saying so")


class KotakIntegrationModifyInputSerializer(serializers.Serializer):
    """POST /api/brokers/kotak/orders/modify: the order and its new values."""

    user_id = _user_id()
    order_no = serializers.CharField(max_length=64, help_text="The order's id, as the order book lists it")
    quantity = serializers.IntegerField(required=False)
    price = serializers.DecimalField(**PRICE, help_text="Rupees; 0 (or none) leaves the price as it is")
    order_type = WordField(words.ORDER_TYPES, required=False)

    def validate(self, attrs):
        change = {name: attrs[name] for name in ("quantity", "order_type") if name in attrs}
        if attrs.get("price"):
            change["price"] = attrs["price"]
        return {"order_no": attrs["order_no"].strip(), "change": change}


class KotakIntegrationCancelInputSerializer(serializers.Serializer):
    """POST /api/brokers/kotak/orders/cancel."""

    user_id = _user_id()
    order_no = serializers.CharField(max_length=64)


class KotakIntegrationQuotesQuerySerializer(serializers.Serializer):
    """GET /api/brokers/kotak/quotes?exchange=&symbol_code=."""

    exchange = WordField(words.words_of(words.QUOTE_SEGMENTS), default=words.DEFAULT_EXCHANGE, note="default nse_cm")
    symbol_code = serializers.CharField(max_length=64, help_text="The broker's token (26000: NIFTY 50 on the "
                                                                 "paper market), or an index's name (Nifty 50)")


LOGIN_DATA = {"connection_id": serializers.UUIDField(help_text="BudhiTrade's connection: where Kotak's login "
                                                               "answers its view or trade token and sid, BudhiTrade "
                                                               "keeps them and answers this"),
              "status": serializers.CharField(help_text="pending_mpin after the TOTP, connected after the MPIN"),
              "kType": serializers.CharField(help_text="View after the TOTP, Trade after the MPIN")}
TOTP_LOGIN_OUTPUT = envelope("KotakIntegrationTotpLoginOutput", inline_serializer(
    "KotakIntegrationTotpLoginData", LOGIN_DATA))
MPIN_LOGIN_OUTPUT = envelope("KotakIntegrationMpinLoginOutput", inline_serializer(
    "KotakIntegrationMpinLoginData", {**LOGIN_DATA, "account_id": serializers.CharField(help_text="The UCC")}))
ORDER_OUTPUT = envelope("KotakIntegrationOrderOutput", OrderOutputSerializer(
    help_text="The order as GET /accounts/{account_id}/orders lists it"))
ORDERS_OUTPUT = envelope("KotakIntegrationOrdersOutput", OrderOutputSerializer(many=True))
TRADES_OUTPUT = envelope("KotakIntegrationTradesOutput", serializers.ListField(
    child=serializers.DictField(), help_text="The fills as GET /accounts/{account_id}/trades lists them"))
POSITIONS_OUTPUT = envelope("KotakIntegrationPositionsOutput", PositionRowSerializer(many=True))
HOLDINGS_OUTPUT = envelope("KotakIntegrationHoldingsOutput", HoldingRowSerializer(many=True))
QUOTES_OUTPUT = envelope("KotakIntegrationQuotesOutput", QuoteDetailsSerializer(
    many=True, help_text="The instrument asked, as POST /api/market/quotes answers it (quote_type all)"))
STATUS_OUTPUT = envelope("KotakIntegrationStatusOutput", BrokerStatusOutputSerializer(
    help_text="As GET /broker/status answers it"))
