"""Seed 002's request bodies (every value a string, in its own words) and its answers' shapes."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from compat.kotak_service import vocabulary as words
from orders.views import OrderInputSerializer, OrderOutputSerializer


def _text(**options) -> serializers.CharField:
    return serializers.CharField(max_length=64, trim_whitespace=True, **options)


class _Translating(serializers.Serializer):
    """A body of seed 002's words; `validate` turns it into the unified API's (004's names and values)."""

    def _translate(self, attrs: dict, rules: dict) -> dict:
        unified, errors = {}, {}
        for name, (target, read) in rules.items():
            if name not in attrs:
                continue
            try:
                value = read(attrs[name], name)
            except words.UnknownWord as error:
                errors[name] = [str(error)]
                continue
            if value is not None:
                unified[target] = value
        if errors:
            raise serializers.ValidationError(errors)
        return unified


def _word(table):
    return lambda value, name: words.word(table, value, name=name)


def _choice(allowed):
    return lambda value, name: words.word({word: word for word in allowed}, value, name=name)


def _whole(value, name):
    return words.whole(value, name=name)


def _money(value, name):
    return words.money(value, name=name)


def _zero_only(what: str):
    """A field seed 002 sends that BudhiTrade's orders do not carry: only its "nothing" value is taken."""
    def read(value, name):
        if words.money(value, name=name) is not None:
            raise words.UnknownWord(f"{name} is not supported: {what}. Send \"0\".")
        return None
    return read


def _no_portfolio(value, name):
    if value.strip().upper() != "N":
        raise words.UnknownWord(f"{name} must be \"N\": BudhiTrade places no portfolio orders.")
    return None


PRODUCT_WORDS = words.PRODUCTS + words.COVER_BRACKET_PRODUCTS
VALIDITY_WORDS = words.VALIDITIES + words.LONG_VALIDITIES


class PlaceInputSerializer(_Translating):
    """POST /api/orders/place, seed 002's body."""

    exchange_segment = _text(help_text="nse_cm, bse_cm, nse_fo, bse_fo or mcx_fo (cde_fo: no orders)")
    product = _text(help_text="NRML, CNC, MIS; CO, BO where the account's broker takes them")
    price = _text(required=False, allow_blank=True, help_text="A string; \"0\" for none (MKT, SL-M)")
    order_type = _text(help_text="L, MKT, SL or SL-M")
    quantity = _text(help_text="A whole number as a string")
    validity = _text(required=False, default="DAY", help_text="DAY, IOC; GTC, EOS, GTD where the broker takes them")
    trading_symbol = _text(help_text="RELIANCE, or Kotak's ITC-EQ: either form works on every broker")
    transaction_type = _text(help_text="B or S")
    amo = _text(required=False, default="NO", help_text="YES for an after-market order")
    disclosed_quantity = _text(required=False, default="0")
    market_protection = _text(required=False, default="0", help_text="Only \"0\"")
    pf = _text(required=False, default="N", help_text="Only \"N\"")
    trigger_price = _text(required=False, allow_blank=True, default="0")
    tag = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")

    RULES = {
        "exchange_segment": ("exchange", _word(words.ORDER_SEGMENTS)),
        "product": ("product", _choice(PRODUCT_WORDS)),
        "price": ("price", _money),
        "order_type": ("order_type", _word(words.ORDER_TYPES)),
        "quantity": ("quantity", _whole),
        "validity": ("validity", _choice(VALIDITY_WORDS)),
        "transaction_type": ("transaction_type", _word(words.TRANSACTION_TYPES)),
        "amo": ("variety", _word(words.AMO)),
        "disclosed_quantity": ("disclosed_quantity", _whole),
        "market_protection": ("market_protection", _zero_only("BudhiTrade sends market orders as they are")),
        "pf": ("pf", _no_portfolio),
        "trigger_price": ("trigger_price", _money),
    }

    def validate(self, attrs):
        unified = self._translate(attrs, self.RULES)
        unified["tradingsymbol"] = attrs["trading_symbol"].strip().upper()
        if attrs.get("tag"):
            unified["tag"] = attrs["tag"]
        return {"segment": attrs["exchange_segment"].strip().lower(), "order": unified}


class ModifyInputSerializer(_Translating):
    """PUT /api/orders/modify, seed 002's body: the order and its new values."""

    order_id = serializers.CharField(max_length=64)
    price = _text(required=False, allow_blank=True)
    quantity = _text(required=False)
    disclosed_quantity = _text(required=False, help_text="Only its current value (\"0\" as placed by default)")
    trigger_price = _text(required=False, allow_blank=True)
    validity = _text(required=False, help_text="DAY or IOC")
    order_type = _text(required=False, help_text="L, MKT, SL or SL-M")

    RULES = {
        "price": ("price", _money),
        "quantity": ("quantity", _whole),
        "disclosed_quantity": ("disclosed_quantity", _whole),
        "trigger_price": ("trigger_price", _money),
        "validity": ("validity", _choice(words.VALIDITIES)),
        "order_type": ("order_type", _word(words.ORDER_TYPES)),
    }

    def validate(self, attrs):
        return {"order_id": attrs["order_id"].strip(), "change": self._translate(attrs, self.RULES)}


class UnifiedOrderSerializer(OrderInputSerializer):
    """The unified API's order rules (orders/views.py), with the products and validities some brokers add."""

    product = serializers.ChoiceField(PRODUCT_WORDS)
    validity = serializers.ChoiceField(VALIDITY_WORDS, default="DAY")


class TotpValidateInputSerializer(serializers.Serializer):
    """POST /api/auth/totp-validate: the MPIN, and which pending login when the user has several."""

    mpin = serializers.RegexField(r"^[0-9]{4,6}$", error_messages={"invalid": "The MPIN is 4 to 6 digits."})
    connection_id = serializers.UUIDField(required=False, help_text="Only when several Kotak logins are pending")


TOTP_LOGIN_INPUT = inline_serializer("KotakServiceTotpLoginInput", {
    "mobile_number": serializers.CharField(), "ucc": serializers.CharField(), "totp": serializers.CharField(),
    "consumer_key": serializers.CharField(), "consumer_secret": serializers.CharField(required=False),
    "environment": serializers.ChoiceField(["prod", "uat"], required=False)})


def envelope(name: str, data) -> serializers.Serializer:
    """Seed 002's success envelope {"status", "data", "message"} around `data`."""
    return inline_serializer(name, {"status": serializers.CharField(help_text="success"), "data": data,
                                    "message": serializers.CharField()})


LOGIN_DATA = inline_serializer("KotakServiceLoginData", {
    "connection_id": serializers.UUIDField(), "status": serializers.CharField(help_text="pending_mpin, connected"),
    "broker": serializers.CharField(), "account_id": serializers.CharField(required=False)})
LOGIN_OUTPUT = envelope("KotakServiceLoginOutput", LOGIN_DATA)
LOGOUT_OUTPUT = inline_serializer("KotakServiceLogoutOutput", {
    "message": serializers.CharField(), "websockets_closed": serializers.BooleanField()})
PLACE_OUTPUT = inline_serializer("KotakServicePlaceOutput", {
    "status": serializers.CharField(), "message": serializers.CharField(), "success": serializers.BooleanField(),
    "order_id": serializers.CharField(), "account_id": serializers.CharField(),
    "data": OrderOutputSerializer(help_text="The order as GET /accounts/{account_id}/orders lists it")})
ORDER_OUTPUT = envelope("KotakServiceOrderOutput", OrderOutputSerializer())
ORDERS_OUTPUT = envelope("KotakServiceOrdersOutput", OrderOutputSerializer(many=True))
HISTORY_OUTPUT = envelope("KotakServiceHistoryOutput", serializers.ListField(child=serializers.DictField()))
ROWS_OUTPUT = envelope("KotakServiceRowsOutput", serializers.ListField(child=serializers.DictField()))
