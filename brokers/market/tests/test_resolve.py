"""What a client's instrument_tokens mean on each stream's listing (brokers/market/resolve.py)."""

import pytest

from brokers.adapters.streams import StreamInstrument
from brokers.domain import QuoteInstrument
from brokers.market import keys
from brokers.market.resolve import ResolvedInstrument, resolve_instruments, stream_for
from brokers.market.tests.listings import kite_connection, neo_connection, paper_connection, paper_listing  # noqa: F401
from budhitrade.errors import InvalidInput

pytestmark = pytest.mark.django_db

SEED_002 = [{"instrument_token": "11536", "exchange_segment": "nse_cm"},
            {"instrument_token": "2885", "exchange_segment": "nse_cm"}]


def test_the_paper_market_is_one_stream_for_everyone_and_a_brokers_data_is_its_connections_own(
        paper_connection, kite_connection):
    assert stream_for(None) == stream_for(paper_connection) == keys.PAPER_STREAM
    assert stream_for(kite_connection) == str(kite_connection.pk)


def test_seed_002s_tokens_are_tcs_and_reliance_on_the_paper_market(paper_listing, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        tcs, reliance = resolve_instruments(connection=None, items=SEED_002)

    assert (tcs.tradingsymbol, tcs.token, tcs.exchange, tcs.segment, tcs.is_index) == ("TCS", "11536", "NSE", "nse_cm", False)
    assert reliance.tradingsymbol == "RELIANCE" and reliance.key == "nse_cm|2885"
    assert tcs.stream_instrument() == StreamInstrument(exchange="NSE", token="11536", is_index=False)
    assert tcs.quote_instrument() == QuoteInstrument(exchange="NSE", token="11536", tradingsymbol="TCS")
    assert tcs.scrip()["isin"] == "INE467B01029"


@pytest.mark.parametrize("name", ["Nifty 50", "NIFTY 50", "nifty 50", 26000, "26000"])
def test_nifty_50_by_kotaks_name_or_its_token_is_the_paper_index_whatever_isindex_said(paper_listing, name):
    (nifty,) = resolve_instruments(connection=None, items=[{"instrument_token": name, "exchange_segment": "nse_cm"}])

    assert (nifty.token, nifty.is_index, nifty.tradingsymbol, nifty.key) == ("26000", True, "NIFTY 50", "nse_cm|26000")
    assert nifty.stream_instrument().is_index


def test_nifty_bank_is_the_paper_bank_index(paper_listing):
    (bank,) = resolve_instruments(connection=None, is_index=True,
                                  items=[{"instrument_token": "Nifty Bank", "exchange_segment": "NSE_CM"}])

    assert (bank.token, bank.is_index, bank.segment) == ("26009", True, "nse_cm")


def test_kite_tokens_and_nifty_50_resolve_on_kites_stored_master(kite_connection, django_assert_max_num_queries):
    items = [{"instrument_token": 408065, "exchange_segment": "nse_cm"},
             {"instrument_token": "Nifty 50", "exchange_segment": "nse_cm"},
             {"instrument_token": "12346114", "exchange_segment": "nse_fo"}]

    with django_assert_max_num_queries(1):
        infy, nifty, call = resolve_instruments(connection=kite_connection, items=items)

    assert (infy.token, infy.tradingsymbol, infy.is_index) == ("408065", "INFY", False)
    assert (nifty.token, nifty.tradingsymbol, nifty.is_index) == ("256265", "NIFTY 50", True)
    assert nifty.quote_instrument() == QuoteInstrument(exchange="NSE", token="256265", tradingsymbol="NIFTY 50")
    assert (call.exchange, call.scrip()["option_type"], call.scrip()["strike"], call.lot_size) == ("NFO", "CE", 24500.0, 65)


@pytest.mark.parametrize("asked", ["Nifty 50", "26000"])
def test_kotak_takes_an_index_by_its_name_so_the_name_is_the_canonical_token(neo_connection, asked):
    (nifty,) = resolve_instruments(connection=neo_connection,
                                   items=[{"instrument_token": asked, "exchange_segment": "nse_cm"}])

    assert (nifty.token, nifty.is_index, nifty.tradingsymbol, nifty.key) == ("Nifty 50", True, "NIFTY", "nse_cm|Nifty 50")
    assert nifty.stream_instrument() == StreamInstrument(exchange="NSE", token="Nifty 50", is_index=True)


def test_kotak_equities_resolve_by_psymbol(neo_connection):
    (hdfc,) = resolve_instruments(connection=neo_connection,
                                  items=[{"instrument_token": "1333", "exchange_segment": "nse_cm"}])

    assert hdfc == ResolvedInstrument(segment="nse_cm", exchange="NSE", token="1333", tradingsymbol="HDFCBANK-EQ")


def test_another_brokers_token_is_unknown_on_this_master(kite_connection):
    with pytest.raises(InvalidInput) as caught:
        resolve_instruments(connection=kite_connection, items=[{"instrument_token": "2885", "exchange_segment": "nse_cm"}])

    assert caught.value.detail == "Unknown instrument 2885 on nse_cm."


def test_an_unknown_token_is_named(paper_listing):
    with pytest.raises(InvalidInput) as caught:
        resolve_instruments(connection=None, items=[*SEED_002, {"instrument_token": "99999", "exchange_segment": "nse_cm"}])

    assert caught.value.detail == "Unknown instrument 99999 on nse_cm."
    assert caught.value.errors == {"instrument_tokens": ["Unknown instrument 99999 on nse_cm."]}


def test_a_token_on_the_wrong_segment_is_unknown_and_every_unknown_one_is_named(paper_listing):
    with pytest.raises(InvalidInput) as caught:
        resolve_instruments(connection=None, items=[{"instrument_token": "11536", "exchange_segment": "bse_cm"},
                                                    {"instrument_token": "TCS", "exchange_segment": "nse_cm"}])

    assert caught.value.detail == "Unknown instruments 11536 on bse_cm, TCS on nse_cm."


@pytest.mark.parametrize("items, named", [
    ({"instrument_token": "11536"}, "must be a list"),
    (["11536"], "instrument_tokens[0] must be an object"),
    ([{"exchange_segment": "nse_cm"}], "instrument_tokens[0].instrument_token"),
    ([{"instrument_token": True, "exchange_segment": "nse_cm"}], "instrument_tokens[0].instrument_token"),
    ([{"instrument_token": " ", "exchange_segment": "nse_cm"}], "instrument_tokens[0].instrument_token"),
    ([{"instrument_token": "1" * 65, "exchange_segment": "nse_cm"}], "too long"),
    ([SEED_002[0], {"instrument_token": "2885", "exchange_segment": "nyse"}], "Unknown exchange_segment 'nyse'"),
    ([{"instrument_token": "2885"}], "Unknown exchange_segment None"),
])
def test_a_malformed_list_is_refused_naming_the_problem(paper_listing, items, named):
    with pytest.raises(InvalidInput) as caught:
        resolve_instruments(connection=None, items=items)

    assert named in caught.value.detail


def test_many_instruments_take_one_query_and_keep_their_order_and_repeats(paper_listing, django_assert_num_queries):
    from brokers.paper.models import PaperInstrument

    tokens = [str(t) for t in PaperInstrument.objects.filter(exchange="NFO").values_list("token", flat=True)[:300]]
    items = [{"instrument_token": t, "exchange_segment": "nse_fo"} for t in tokens]
    items.append(items[0])

    with django_assert_num_queries(1):
        resolved = resolve_instruments(connection=None, items=items)

    assert [r.token for r in resolved] == [*tokens, tokens[0]]
    assert resolve_instruments(connection=None, items=[]) == []
