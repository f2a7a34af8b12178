"""Seed 001's words, both ways: each maps to the domain's, an unknown one is refused naming the allowed ones, and
the words it shares with seed 002 are seed 002's own tables."""

from decimal import Decimal

import pytest

from brokers.adapters.paper.adapter import PaperAdapter
from brokers.models import BrokerConnection
from compat.kotak_integration import translate
from compat.kotak_integration import vocabulary as words
from compat.kotak_integration.serializers import KotakIntegrationPlaceInputSerializer
from compat.kotak_service import vocabulary as seed_002


@pytest.mark.parametrize("table,value,expected", [
    (words.ORDER_TYPES, "MKT", "MARKET"), (words.ORDER_TYPES, "lmt", "LIMIT"),
    (words.TRANSACTION_TYPES, "B", "BUY"), (words.TRANSACTION_TYPES, "s", "SELL"),
    (words.ORDER_SEGMENTS, "nse_cm", "NSE"), (words.ORDER_SEGMENTS, "NSE_FO", "NFO"),
    (words.words_of(words.PRODUCTS), "mis", "MIS"), (words.words_of(words.VALIDITIES), "GTC", "GTC"),
])
def test_each_word_maps_to_the_domains(table, value, expected):
    assert words.word(table, value, name="field") == expected


@pytest.mark.parametrize("table,value", [
    (words.ORDER_TYPES, "L"), (words.ORDER_TYPES, "LIMIT"), (words.ORDER_TYPES, "SL"),
    (words.TRANSACTION_TYPES, "BUY"), (words.ORDER_SEGMENTS, "cde_fo"), (words.words_of(words.PRODUCTS), "CO"),
    (words.words_of(words.VALIDITIES), "EOS"),
])
def test_an_unknown_word_is_refused_naming_the_allowed_ones(table, value):
    with pytest.raises(words.UnknownWord, match="use one of"):
        words.word(table, value, name="field")


def test_the_words_seed_001_shares_with_seed_002_are_seed_002s_tables():
    assert words.TRANSACTION_TYPES is seed_002.TRANSACTION_TYPES
    assert words.PRODUCTS is seed_002.PRODUCTS and words.ORDER_SEGMENTS is seed_002.ORDER_SEGMENTS
    assert set(words.LONG_VALIDITIES) <= set(seed_002.LONG_VALIDITIES)
    assert words.VALIDITIES == ("DAY", "IOC", "GTC")


def test_a_login_step_has_kotaks_k_type():
    assert (words.k_type("pending_mpin"), words.k_type("connected")) == ("View", "Trade")
    with pytest.raises(words.UnknownWord):
        words.k_type("expired")


def test_errors_are_renamed_to_seed_001s_fields():
    assert words.seed_errors({"tradingsymbol": ["x"], "product": ["y"], "exchange": ["z"]}) == {
        "symbol": ["x"], "product_type": ["y"], "exchange": ["z"]}
    assert words.seed_errors({"consumer_key": ["k"], "ucc": ["u"], "totp": ["t"]}, words.SEED_LOGIN_NAMES) == {
        "access_token": ["k"], "client_code": ["u"], "totp": ["t"]}


@pytest.mark.django_db
def test_gtc_becomes_the_domains_gtc_order_where_the_adapter_says_its_broker_takes_it(user, monkeypatch):
    connection = BrokerConnection(user=user, broker="paper", account_id="PA1", status="connected")
    body = KotakIntegrationPlaceInputSerializer(data={
        "symbol": "RELIANCE", "quantity": 1, "order_type": "lmt", "price": "1400.5", "transaction_type": "b",
        "validity": "GTC"})
    assert body.is_valid(), body.errors
    monkeypatch.setattr(PaperAdapter, "instrument_spec", lambda self, **kwargs: None)  # no listing to ask
    with pytest.raises(Exception, match="GTC is not supported"):
        translate.order_request(connection=connection, order=body.validated_data)

    monkeypatch.setattr(PaperAdapter, "places_long_validity_orders", True)
    order = translate.order_request(connection=connection, order=body.validated_data)

    assert (order.tradingsymbol, order.exchange, order.order_type, order.transaction_type, order.product,
            order.validity, order.price, order.quantity) == (
        "RELIANCE", "NSE", "LIMIT", "BUY", "CNC", "GTC", Decimal("1400.50"), 1)
