"""The paper exchange's market: listing, determinism, prices, carry, Black-76 and its smile, volume and OI."""

import math
from datetime import date, timedelta
from decimal import Decimal

import pytest

from brokers.options import black76, implied_vol
from brokers.paper import catalogue, market
from brokers.paper.models import PaperInstrument, PaperMarket
from brokers.tests.fixtures import PAPER_START_DAY, ist

pytestmark = pytest.mark.django_db

NIFTY, BANKNIFTY = catalogue.INDICES


def _state() -> dict[str, tuple]:
    return {row.tradingsymbol: (row.token, row.last_price, row.open_price, row.close_price, row.volume, row.oi)
            for row in PaperInstrument.objects.all()}


def _reset() -> None:
    PaperInstrument.objects.all().delete()
    PaperMarket.objects.all().delete()


def test_catalogue_lists_about_fifty_nifty_equities_with_isins_and_unique_tokens():
    tokens = [equity.token for equity in catalogue.EQUITIES] + [index.token for index in catalogue.INDICES]
    assert 45 <= len(catalogue.EQUITIES) <= 55
    assert len(set(tokens)) == len(tokens)
    assert all(len(e.isin) == 12 and e.isin.startswith("INE") for e in catalogue.EQUITIES)
    assert (NIFTY.token, NIFTY.lot_size, NIFTY.strike_step) == (26000, 65, 50)
    assert (BANKNIFTY.lot_size, BANKNIFTY.strike_step) == (30, 100)


def test_listing_has_three_futures_and_weekly_and_monthly_options_twenty_strikes_each_side(paper_market):
    nifty_spot = PaperInstrument.objects.get(token=26000).last_price
    futures = PaperInstrument.objects.filter(underlying="NIFTY", instrument_type="FUT").order_by("expiry")
    assert [f.tradingsymbol for f in futures] == ["NIFTY26NOVFUT", "NIFTY26DECFUT", "NIFTY27JANFUT"]
    assert [f.expiry for f in futures] == [date(2026, 11, 24), date(2026, 12, 29), date(2027, 1, 26)]
    calls = PaperInstrument.objects.filter(underlying="NIFTY", instrument_type="CE", expiry=date(2026, 11, 24))
    strikes = sorted(int(c.strike) for c in calls)
    assert len([s for s in strikes if s > nifty_spot]) >= 20 and len([s for s in strikes if s < nifty_spot]) >= 20
    assert all(b - a == 50 for a, b in zip(strikes, strikes[1:]))
    assert all(c.lot_size == 65 for c in calls)
    weekly = PaperInstrument.objects.filter(underlying="NIFTY", instrument_type="PE", expiry=date(2026, 11, 17))
    assert weekly.count() >= 41 and weekly.first().tradingsymbol.startswith("NIFTY26N17")
    bank = PaperInstrument.objects.filter(underlying="BANKNIFTY", instrument_type="PE")
    assert {int(p.strike) % 100 for p in bank} == {0} and bank.count() >= 41


def test_weekly_symbol_is_kites_format_and_monthly_is_the_month_name():
    assert catalogue.option_symbol("NIFTY", date(2026, 12, 1), 26000, "CE") == "NIFTY26D0126000CE"
    assert catalogue.option_symbol("NIFTY", date(2026, 11, 24), 26000, "PE") == "NIFTY26NOV26000PE"
    assert catalogue.monthly_expiries(date(2026, 11, 25), 1) == [date(2026, 12, 29)]


def test_instrument_tokens_are_the_same_in_every_run(paper_market):
    first = {symbol: state[0] for symbol, state in _state().items()}
    _reset()
    market.market_create(start=ist(PAPER_START_DAY, 9, 15), seed=99)

    assert {symbol: state[0] for symbol, state in _state().items()} == first


def test_stepping_in_one_go_or_many_gives_the_same_market(paper_market):
    end = ist(PAPER_START_DAY + timedelta(days=1), 11, 7, 31)
    market.market_advance(to=end)
    one_go = _state()
    _reset()
    market.market_create(start=ist(PAPER_START_DAY, 9, 15), seed=11)
    moment = ist(PAPER_START_DAY, 9, 15)
    while moment < end:
        moment = min(moment + timedelta(minutes=37, seconds=13), end)
        market.market_advance(to=moment)

    assert _state() == one_go


def test_another_seed_gives_another_market(paper_market):
    market.market_advance(to=ist(PAPER_START_DAY, 12, 0))
    seeded_11 = _state()["RELIANCE"][1]
    _reset()
    market.market_create(start=ist(PAPER_START_DAY, 9, 15), seed=12)
    market.market_advance(to=ist(PAPER_START_DAY, 12, 0))

    assert _state()["RELIANCE"][1] != seeded_11


def test_prices_move_in_session_on_the_tick_and_stand_still_over_the_weekend(paper_market):
    before = _state()["NIFTY 50"][1]
    market.market_advance(to=ist(PAPER_START_DAY + timedelta(days=4), 15, 30))  # Friday's close
    friday = _state()
    market.market_advance(to=ist(PAPER_START_DAY + timedelta(days=5), 12, 0))  # Saturday

    assert friday["NIFTY 50"][1] != before
    assert _state() == friday
    assert all(row.last_price % Decimal("0.05") == 0 for row in PaperInstrument.objects.all())


def test_intraday_walk_has_ordinary_volatility(paper_market):
    """Minute returns of NIFTY over a session have roughly the annual volatility asked for."""
    closes, moment = [], ist(PAPER_START_DAY, 9, 15)
    for _ in range(120):
        moment += timedelta(minutes=1)
        market.market_advance(to=moment)
        closes.append(float(PaperInstrument.objects.get(token=26000).last_price))
    returns = [math.log(b / a) for a, b in zip(closes, closes[1:])]
    annualised = math.sqrt(sum(r * r for r in returns) / len(returns)) * math.sqrt(252 * 375)

    assert 0.06 < annualised < 0.24


def test_futures_trade_at_cost_of_carry(paper_market):
    market.market_advance(to=ist(PAPER_START_DAY, 13, 0))
    spot = float(PaperInstrument.objects.get(token=26000).last_price)
    for future in PaperInstrument.objects.filter(underlying="NIFTY", instrument_type="FUT"):
        years = (catalogue.expiry_close(future.expiry) - ist(PAPER_START_DAY, 13, 0)).total_seconds() / (365 * 86400)
        assert float(future.last_price) == pytest.approx(spot * math.exp(0.065 * years), abs=0.1)
        assert future.last_price > Decimal(str(spot))


def test_implied_volatility_read_back_is_sensible_and_skewed(paper_market):
    moment = ist(PAPER_START_DAY, 13, 0)
    market.market_advance(to=moment)
    future = PaperInstrument.objects.get(tradingsymbol="NIFTY26NOVFUT")
    years = (catalogue.expiry_close(future.expiry) - moment).total_seconds() / (365 * 86400)
    atm = round(float(future.last_price) / 50) * 50

    def iv(strike: int, kind: str) -> float:
        option = PaperInstrument.objects.get(tradingsymbol=catalogue.option_symbol("NIFTY", future.expiry, strike, kind))
        return implied_vol(price=float(option.last_price), future=float(future.last_price), strike=strike,
                           years=years, rate=0.065, option_type=kind)

    assert iv(atm, "CE") == pytest.approx(0.12, abs=0.01)
    assert iv(atm, "PE") == pytest.approx(iv(atm, "CE"), abs=0.01)
    assert iv(atm - 500, "PE") > iv(atm, "PE") + 0.005  # puts below the money are dearer
    assert 0.05 < iv(atm + 500, "CE") < 0.2


def test_black76_put_call_parity():
    call = black76(future=26000, strike=25500, years=0.1, rate=0.065, vol=0.13, option_type="CE")
    put = black76(future=26000, strike=25500, years=0.1, rate=0.065, vol=0.13, option_type="PE")
    assert call - put == pytest.approx(math.exp(-0.065 * 0.1) * (26000 - 25500), abs=1e-6)


def test_volume_and_open_interest_evolve(paper_market):
    opening = _state()
    market.market_advance(to=ist(PAPER_START_DAY, 11, 0))
    later = _state()

    assert later["RELIANCE"][4] > 0 and later["NIFTY26NOVFUT"][4] > opening["NIFTY26NOVFUT"][4]
    changed = [s for s in later if s.startswith("NIFTY26NOV") and later[s][5] != opening[s][5]]
    assert len(changed) > 50
    assert all(later[s][5] % 65 == 0 for s in later if s.startswith("NIFTY26N"))


def test_a_new_session_keeps_the_close_and_resets_the_day(paper_market):
    market.market_advance(to=ist(PAPER_START_DAY, 15, 30))
    monday_close = PaperInstrument.objects.get(tradingsymbol="TCS").last_price
    market.market_advance(to=ist(PAPER_START_DAY + timedelta(days=1), 9, 15))
    tcs = PaperInstrument.objects.get(tradingsymbol="TCS")

    assert tcs.close_price == monday_close and tcs.volume == 0
    assert tcs.open_price == tcs.last_price == tcs.high_price == tcs.low_price


def test_expired_contracts_retire_and_the_next_series_is_listed(paper_market):
    market.market_advance(to=ist(date(2026, 11, 25), 9, 20))

    assert not PaperInstrument.objects.get(tradingsymbol="NIFTY26NOVFUT").active
    assert PaperInstrument.objects.filter(tradingsymbol="NIFTY27FEBFUT", active=True).exists()
    assert PaperInstrument.objects.filter(underlying="NIFTY", instrument_type="CE", expiry=date(2026, 12, 1),
                                          active=True).count() >= 41
