"""From the paper market to the endpoints: a chain the paper market lists, captured, then read back.

The answers are worked out here from the paper market's own instrument rows
(not from the snapshots), so a capture that lost or mislabelled a contract,
or an endpoint that summed the wrong side, fails.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from analytics.capture import snapshot_capture
from brokers.paper import catalogue, market
from brokers.paper.models import PaperInstrument
from brokers.tests.fixtures import PAPER_START_DAY, ist

pytestmark = pytest.mark.django_db


@pytest.fixture
def captured(paper_market):
    """The paper market at 11:00 on its first day, captured twice (09:15, then 11:00)."""
    market.market_advance(to=ist(PAPER_START_DAY, 9, 15))
    snapshot_capture(at=ist(PAPER_START_DAY, 9, 15))
    market.market_advance(to=ist(PAPER_START_DAY, 11, 0))
    snapshot_capture(at=ist(PAPER_START_DAY, 11, 0))


def _nearest_nifty_chain():
    options = PaperInstrument.objects.filter(exchange="NFO", underlying="NIFTY", active=True,
                                             instrument_type__in=["CE", "PE"])
    expiry = min(options.values_list("expiry", flat=True))
    rows = list(options.filter(expiry=expiry))
    calls = {row.strike: row for row in rows if row.instrument_type == "CE"}
    puts = {row.strike: row for row in rows if row.instrument_type == "PE"}
    return expiry, calls, puts


def test_chain_summary_of_a_paper_chain_gives_the_max_pain_and_pcr_worked_out_from_the_market(captured, user_api):
    expiry, calls, puts = _nearest_nifty_chain()
    strikes = sorted(set(calls) | set(puts))

    def payout(settle: Decimal) -> Decimal:
        return (sum(row.oi * max(settle - strike, 0) for strike, row in calls.items())
                + sum(row.oi * max(strike - settle, 0) for strike, row in puts.items()))

    least = min(payout(strike) for strike in strikes)
    max_pain = min(strike for strike in strikes if payout(strike) == least)
    pcr_oi = sum(row.oi for row in puts.values()) / sum(row.oi for row in calls.values())
    pcr_volume = sum(row.volume for row in puts.values()) / sum(row.volume for row in calls.values())
    spot = PaperInstrument.objects.get(token=catalogue.INDICES[0].token).last_price

    response = user_api.get("/fo/chain-summary?symbol=NIFTY")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["expiry"] == expiry.isoformat()
    assert body["max_pain"] == float(max_pain)
    assert body["pcr_oi"] == pytest.approx(pcr_oi, rel=1e-12)
    assert body["pcr_volume"] == pytest.approx(pcr_volume, rel=1e-12)
    assert body["underlying_price"] == float(spot)
    assert body["max_call_oi_strike"] == float(max(calls, key=lambda strike: (calls[strike].oi, -strike)))
    # ATM is the strike nearest the forward; the straddle there is the two options' last prices.
    atm = Decimal(str(body["atm_strike"]))
    assert abs(atm - Decimal(str(body["future_price"]))) <= catalogue.INDICES[0].strike_step / 2
    assert body["atm_straddle_premium"] == float(calls[atm].last_price + puts[atm].last_price)
    # The paper market prices from its smile: ATM IV is near its ATM vol.
    assert body["atm_iv"] == pytest.approx(catalogue.INDICES[0].atm_vol, abs=0.01)


def test_strike_distribution_of_a_paper_chain_lists_every_strike_with_its_oi(captured, user_api):
    expiry, calls, puts = _nearest_nifty_chain()

    body = user_api.get("/fo/strike-distribution?symbol=NIFTY&timeframe=1min&indicator=oi").json()

    series = body["series"][0]
    assert series["expiry"] == expiry.isoformat()
    points = {Decimal(str(point["strike"])): point for point in series["points"]}
    assert set(points) == set(calls) | set(puts)
    for strike, point in points.items():
        assert (point["call"], point["put"]) == (calls[strike].oi, puts[strike].oi)
        assert (point["call_oi"], point["put_oi"]) == (calls[strike].oi, puts[strike].oi)
