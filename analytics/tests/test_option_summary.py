"""GET /fo/chain-summary on the small known chain: ATM, PCR, max pain, OI walls and basis worked out by hand."""

from __future__ import annotations

import pytest

from analytics import chain as rules
from analytics.tests.chain_factory import (
    CALL_OI,
    EXPIRY,
    FORWARD,
    NEXT_EXPIRY,
    PUT_OI,
    SPOT,
    STRIKES,
    known_chain_create,
    option_chain_create,
    premium,
)
from analytics.timeframes import unix_seconds

pytestmark = pytest.mark.django_db


def _payout(settle: int) -> int:
    """Option writers' payout at expiry if NIFTY settles at `settle`: the max-pain sum, by hand."""
    return (sum(oi * max(settle - strike, 0) for strike, oi in CALL_OI.items())
            + sum(oi * max(strike - settle, 0) for strike, oi in PUT_OI.items()))


def test_the_hand_worked_payouts_put_max_pain_at_25000():
    # 24900: 165,000; 24950: 80,000; 25000: 45,000; 25050: 65,000; 25100: 145,000.
    assert [_payout(strike) for strike in STRIKES] == [165000, 80000, 45000, 65000, 145000]


def test_chain_summary_answers_what_the_chain_says(user_api, django_assert_max_num_queries):
    buckets = known_chain_create()
    with django_assert_max_num_queries(6):  # the user, then latest, expiries, rows, session's first, its OI
        response = user_api.get("/fo/chain-summary?symbol=NIFTY")
    assert response.status_code == 200, response.content
    body = response.json()
    straddle = (premium(forward=FORWARD, strike=25050, bucket=buckets["now"], side="CE")
                + premium(forward=FORWARD, strike=25050, bucket=buckets["now"], side="PE"))
    assert body == {
        "status": "success", "symbol": "NIFTY", "expiry": EXPIRY.isoformat(),
        "bucket_time": unix_seconds(buckets["now"]), "underlying_price": SPOT, "future_price": FORWARD,
        "atm_strike": 25050, "atm_iv": pytest.approx(0.15), "atm_straddle_premium": float(straddle),
        "pcr_oi": pytest.approx(2800 / 2900), "pcr_volume": pytest.approx(25 / 150),
        "max_pain": 25000,  # not the strike with the most OI (25100 calls, 24900 puts)
        "max_call_oi_strike": 25100, "max_put_oi_strike": 24900,
        # Against 09:15 today (not Friday's close): the 25050 call and the 24950 put each gained 600.
        "max_call_oi_change_strike": 25050, "max_put_oi_change_strike": 24950,
        "basis": pytest.approx(FORWARD - SPOT),
    }


def test_chain_summary_of_the_next_expiry_and_nifty50_names_nifty(user_api):
    known_chain_create()
    body = user_api.get(f"/fo/chain-summary?symbol=nifty50&expiry={NEXT_EXPIRY}").json()
    assert body["symbol"] == "NIFTY"
    assert body["expiry"] == NEXT_EXPIRY.isoformat()
    assert body["future_price"] == 25090.0 and body["atm_strike"] == 25100
    assert body["pcr_oi"] == 1.0
    # Every strike has OI 10 on both sides: the payout is least at the middle strike.
    assert body["max_pain"] == 25000
    # No row of this expiry at the session's first bucket: OI change is unknown, never a guessed zero.
    assert body["max_call_oi_change_strike"] is None and body["max_put_oi_change_strike"] is None


def test_chain_summary_is_the_same_for_another_user(user_api, other_api):
    known_chain_create()
    assert other_api.get("/fo/chain-summary?symbol=NIFTY").json() == user_api.get(
        "/fo/chain-summary?symbol=NIFTY").json()


def test_a_call_without_oi_leaves_pcr_null(user_api):
    from analytics.tests.chain_factory import DAY, ist

    option_chain_create(bucket=ist(DAY, 10, 0), strikes=[25000, 25050], forward=25010.0,
                        oi=lambda strike, side: 0 if side == "CE" else 7)
    body = user_api.get("/fo/chain-summary?symbol=NIFTY").json()
    assert body["pcr_oi"] is None and body["pcr_volume"] is None


def test_max_pain_ties_go_to_the_lower_strike():
    chain = rules.ExpiryChain(expiry=EXPIRY, strikes={
        strike: {"CE": {"oi": 0}, "PE": {"oi": 0}} for strike in (100, 200, 300)})
    assert rules.chain_max_pain(chain) == 100


def test_the_strike_step_is_the_most_common_gap():
    from decimal import Decimal

    strikes = [Decimal(s) for s in (24000, 24100, 24150, 24200, 24250, 24300, 24500)]
    assert rules.strike_step(strikes) == Decimal(50)
    assert rules.strike_step([Decimal(1)]) is None
