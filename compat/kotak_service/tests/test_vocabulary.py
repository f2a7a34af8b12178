"""Seed 002's words, both ways: each known word maps, every unknown one is refused naming the allowed ones."""

from decimal import Decimal

import pytest

from compat.kotak_service import vocabulary as words


@pytest.mark.parametrize("table,value,expected", [
    (words.TRANSACTION_TYPES, "B", "BUY"), (words.TRANSACTION_TYPES, "s", "SELL"),
    (words.ORDER_TYPES, "L", "LIMIT"), (words.ORDER_TYPES, "MKT", "MARKET"), (words.ORDER_TYPES, "sl-m", "SL-M"),
    (words.AMO, "YES", "amo"), (words.AMO, "NO", "regular"),
    (words.ORDER_SEGMENTS, "nse_cm", "NSE"), (words.ORDER_SEGMENTS, "NSE_FO", "NFO"),
    (words.ORDER_SEGMENTS, "bse_fo", "BFO"), (words.ORDER_SEGMENTS, "mcx_fo", "MCX"),
])
def test_each_word_maps_to_the_domains(table, value, expected):
    assert words.word(table, value, name="field") == expected


@pytest.mark.parametrize("table,value", [
    (words.TRANSACTION_TYPES, "BUY"), (words.ORDER_TYPES, "LMT"), (words.ORDER_SEGMENTS, "cde_fo"),
    (words.AMO, "Y"), (words.ORDER_SEGMENTS, ""),
])
def test_an_unknown_word_is_refused_naming_the_allowed_ones(table, value):
    with pytest.raises(words.UnknownWord, match="use one of"):
        words.word(table, value, name="field")


def test_quantities_and_prices_are_strings():
    assert words.whole(" 10 ", name="quantity") == 10
    assert words.money("100.50", name="price") == Decimal("100.50")
    assert words.money("0", name="price") is None and words.money("", name="price") is None
    for bad in ("-1", "1e400000", "NaN", "ten", "Infinity"):
        with pytest.raises(words.UnknownWord):
            words.money(bad, name="price")
    for bad in ("1.5", "-2", "", "x"):
        with pytest.raises(words.UnknownWord):
            words.whole(bad, name="quantity")


@pytest.mark.parametrize("symbol,segment,forms", [
    ("ITC-EQ", "nse_cm", ["ITC-EQ", "ITC"]),
    ("itc", "nse_cm", ["ITC", "ITC-EQ"]),
    ("BAJAJ-AUTO", "nse_cm", ["BAJAJ-AUTO", "BAJAJ-AUTO-EQ"]),  # a dash that is not a series
    ("NHIT-IV", "bse_cm", ["NHIT-IV", "NHIT-IV-EQ"]),
    ("SGBJUN31-GB", "nse_cm", ["SGBJUN31-GB", "SGBJUN31"]),
    ("NIFTY26NOVFUT", "nse_fo", ["NIFTY26NOVFUT"]),
])
def test_a_cash_symbol_has_its_form_with_and_without_its_series(symbol, segment, forms):
    assert words.symbol_forms(symbol, segment) == forms


def test_errors_are_renamed_to_seed_002s_fields():
    assert words.seed_errors({"tradingsymbol": ["x"], "exchange": ["y"], "variety": ["z"], "price": ["p"]}) == {
        "trading_symbol": ["x"], "exchange_segment": ["y"], "amo": ["z"], "price": ["p"]}
