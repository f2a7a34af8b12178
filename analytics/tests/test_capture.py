"""Snapshot capture from the paper market (whose smile is known) and from Kite through kiteconnect."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from analytics.backfill import snapshot_backfill
from analytics.capture import minute_bucket, snapshot_capture, snapshot_capture_from
from analytics.models import FutureSnapshot, OptionSnapshot
from analytics.tasks import snapshot_capture_due_task
from brokers.adapters.paper.quote import paper_quote
from brokers.domain import QuoteInstrument, QuoteKind
from brokers.options import black76, years_to_expiry
from brokers.paper import catalogue, market
from brokers.paper.models import PaperInstrument
from brokers.tests.fixtures import PAPER_START_DAY, ist

RATE = catalogue.RISK_FREE_RATE
HALF_TICK = 0.025
INDEX = {index.symbol: index for index in catalogue.INDICES}


@pytest.fixture
def paper_at_eleven(paper_market):
    market.market_advance(to=ist(PAPER_START_DAY, 11, 0))
    return ist(PAPER_START_DAY, 11, 0)


def listed(**filters):
    return PaperInstrument.objects.filter(exchange="NFO", active=True, underlying__in=["NIFTY", "BANKNIFTY"], **filters)


def smile(row: OptionSnapshot, at) -> float:
    years = years_to_expiry(row.expiry, at)
    return catalogue.smile_vol(atm_vol=INDEX[row.underlying].atm_vol, future=float(row.future_price),
                               strike=float(row.strike), years=years)


def test_a_paper_capture_writes_a_row_per_listed_option_and_future(paper_at_eleven):
    capture = snapshot_capture(at=paper_at_eleven)

    options = {row.tradingsymbol: row for row in OptionSnapshot.objects.all()}
    futures = {row.contract: row for row in FutureSnapshot.objects.all()}
    assert set(options) == set(listed(instrument_type__in=["CE", "PE"]).values_list("tradingsymbol", flat=True))
    assert set(futures) == set(listed(instrument_type="FUT").values_list("tradingsymbol", flat=True))
    assert (capture.options, capture.futures) == (len(options), len(futures)) and len(futures) == 6
    assert {row.bucket for row in options.values()} == {minute_bucket(paper_at_eleven)}
    assert {row.source for row in options.values()} == {"paper"}
    stored = {row.tradingsymbol: row for row in listed()}
    clock = paper_at_eleven
    for symbol, row in options.items():
        instrument = stored[symbol]
        quote = paper_quote(QuoteInstrument(exchange="NFO", token=str(instrument.token)), instrument,
                            kind=QuoteKind.ALL, received_at=clock, clock=clock)
        assert (row.ltp, row.volume, row.oi) == (instrument.last_price, instrument.volume, instrument.oi)
        assert (row.bid, row.ask) == (quote.bids[0].price, quote.asks[0].price)  # what the paper quote says
    for index in catalogue.INDICES:
        spot = PaperInstrument.objects.get(token=index.token).last_price
        assert {row.underlying_price for row in options.values() if row.underlying == index.symbol} == {spot}


def test_the_iv_read_back_is_the_paper_markets_smile_within_tick_rounding(paper_at_eleven):
    snapshot_capture(at=paper_at_eleven)

    rows = list(OptionSnapshot.objects.all())
    priced = [row for row in rows if row.iv is not None]
    assert len(priced) >= 0.95 * len(rows)
    near_the_money = 0
    for row in priced:
        years = years_to_expiry(row.expiry, paper_at_eleven)
        vol = smile(row, paper_at_eleven)
        model = black76(future=float(row.future_price), strike=float(row.strike), years=years, rate=RATE, vol=vol,
                        option_type=row.option_type)
        # The market rounds each premium to a tick (and the forward it is read on to a tick or a parity median).
        if row.ltp > catalogue.TICK:
            assert abs(model - float(row.ltp)) <= HALF_TICK + 0.05 * abs(row.delta) + 1e-9, row.tradingsymbol
        if 0.1 <= abs(row.delta) <= 0.9:
            near_the_money += 1
            tolerance = (HALF_TICK + 0.05 * abs(row.delta)) / (row.vega * 100)
            assert abs(row.iv - vol) <= tolerance, row.tradingsymbol
            assert tolerance < 0.002
    assert near_the_money >= 40


def test_greeks_are_sane(paper_at_eleven):
    snapshot_capture(at=paper_at_eleven)

    for row in OptionSnapshot.objects.exclude(iv=None):
        if row.option_type == "CE":
            assert 0 < row.delta <= 1
        else:
            assert -1 <= row.delta < 0
        assert row.gamma >= 0 and row.vega >= 0
        if 0.2 <= abs(row.delta) <= 0.8:
            assert row.theta < 0 and row.gamma > 0 and row.vega > 0.5
    # A call and a put at one strike: put-call parity in delta (C - P = D (F - K), so dC - dP = D).
    calls = {(r.expiry, r.strike): r for r in OptionSnapshot.objects.filter(option_type="CE").exclude(iv=None)}
    for put in OptionSnapshot.objects.filter(option_type="PE").exclude(iv=None):
        call = calls.get((put.expiry, put.strike))
        if call is not None and abs(call.iv - put.iv) < 1e-3:
            discount = math.exp(-RATE * years_to_expiry(put.expiry, paper_at_eleven))
            assert call.delta - put.delta == pytest.approx(discount, abs=5e-3)


def test_each_expiry_is_priced_on_its_future_or_the_parity_forward(paper_at_eleven):
    snapshot_capture(at=paper_at_eleven)

    futures = {row.expiry: row.close for row in FutureSnapshot.objects.filter(underlying="NIFTY")}
    for expiry in OptionSnapshot.objects.filter(underlying="NIFTY").values_list("expiry", flat=True).distinct():
        forwards = set(OptionSnapshot.objects.filter(underlying="NIFTY", expiry=expiry)
                       .values_list("future_price", flat=True))
        assert len(forwards) == 1
        forward = forwards.pop()
        if expiry in futures:
            assert forward == futures[expiry]
        else:  # NIFTY's weekly has no future: parity, on the market's own carry to within rounding
            spot = float(PaperInstrument.objects.get(token=INDEX["NIFTY"].token).last_price)
            carried = spot * math.exp(RATE * years_to_expiry(expiry, paper_at_eleven))
            assert abs(float(forward) - carried) < 0.2
    assert len(futures) == 3 and any(expiry not in futures for expiry in
                                     OptionSnapshot.objects.values_list("expiry", flat=True))


def test_capturing_a_minute_again_replaces_its_rows(paper_at_eleven):
    snapshot_capture(at=paper_at_eleven)
    count = OptionSnapshot.objects.count()
    later = paper_at_eleven + timedelta(seconds=40)
    market.market_advance(to=later)

    snapshot_capture(at=later)

    assert OptionSnapshot.objects.count() == count and FutureSnapshot.objects.count() == 6
    stored = dict(listed().values_list("tradingsymbol", "last_price"))
    assert {row.tradingsymbol: row.ltp for row in OptionSnapshot.objects.all()} == {
        symbol: price for symbol, price in stored.items() if symbol in
        set(OptionSnapshot.objects.values_list("tradingsymbol", flat=True))}
    assert {row.contract: row.close for row in FutureSnapshot.objects.all()} == {
        row.tradingsymbol: row.last_price for row in listed(instrument_type="FUT")}


def test_a_futures_minute_opens_at_the_previous_minutes_close(paper_at_eleven):
    snapshot_capture(at=paper_at_eleven)
    first = {row.contract: row for row in FutureSnapshot.objects.all()}
    next_minute = paper_at_eleven + timedelta(minutes=7)
    market.market_advance(to=next_minute - timedelta(minutes=1))
    snapshot_capture(at=next_minute - timedelta(minutes=1))
    before = {row.contract: row.close for row in FutureSnapshot.objects.filter(bucket=minute_bucket(next_minute) - timedelta(minutes=1))}
    market.market_advance(to=next_minute)

    snapshot_capture(at=next_minute)

    assert all(row.open == row.close == row.high == row.low for row in first.values())  # no minute before it
    moved = 0
    for row in FutureSnapshot.objects.filter(bucket=minute_bucket(next_minute)):
        assert row.open == before[row.contract]
        assert row.close == PaperInstrument.objects.get(tradingsymbol=row.contract).last_price
        assert (row.high, row.low) == (max(row.open, row.close), min(row.open, row.close))
        moved += row.open != row.close
    assert moved


@pytest.mark.parametrize("moment", [ist(PAPER_START_DAY, 8, 59), ist(PAPER_START_DAY, 15, 30),
                                    ist(PAPER_START_DAY + timedelta(days=5), 11, 0)],  # a Saturday
                         ids=["before the open", "at the close", "saturday"])
def test_outside_market_hours_the_beat_task_captures_nothing(paper_market, moment):
    assert snapshot_capture_due_task(now=moment.isoformat()) == 0
    assert not OptionSnapshot.objects.exists() and not FutureSnapshot.objects.exists()


def test_in_market_hours_the_beat_task_captures(paper_at_eleven):
    written = snapshot_capture_due_task(now=paper_at_eleven.isoformat())

    assert written == OptionSnapshot.objects.count() + FutureSnapshot.objects.count() > 300


def test_an_unconnected_market_data_account_captures_nothing(paper_at_eleven, settings):
    settings.ANALYTICS_ACCOUNT_ID = "NOSUCH1"

    assert snapshot_capture_due_task(now=paper_at_eleven.isoformat()) == 0
    assert not OptionSnapshot.objects.exists()


def test_a_replay_captures_each_step_as_the_stored_market_has_it(paper_market):
    start, end = ist(PAPER_START_DAY, 9, 15), ist(PAPER_START_DAY, 9, 45)

    assert snapshot_backfill(start=start, end=end, step=timedelta(minutes=5)) == 7

    buckets = sorted(set(OptionSnapshot.objects.values_list("bucket", flat=True)))
    assert buckets == [minute_bucket(start + timedelta(minutes=5 * n)) for n in range(7)]
    replayed = {row.tradingsymbol: (row.ltp, row.volume, row.oi, row.iv)
                for row in OptionSnapshot.objects.filter(bucket=minute_bucket(end))}
    OptionSnapshot.objects.filter(bucket=minute_bucket(end)).delete()
    snapshot_capture_from(connection=None, at=end)  # the stored market, which the replay left at `end`
    assert {row.tradingsymbol: (row.ltp, row.volume, row.oi, row.iv)
            for row in OptionSnapshot.objects.filter(bucket=minute_bucket(end))} == replayed
    assert any(volume for _, volume, _, _ in replayed.values())


def test_staff_browse_snapshots_read_only_in_admin(paper_at_eleven, client):
    from django.contrib.auth import get_user_model

    snapshot_capture(at=paper_at_eleven)
    client.force_login(get_user_model().objects.create_user("ops", password="x", is_staff=True, is_superuser=True))
    option = OptionSnapshot.objects.filter(underlying="NIFTY").first()

    options = client.get("/admin/analytics/optionsnapshot/?underlying=NIFTY")
    futures = client.get("/admin/analytics/futuresnapshot/")
    detail = client.get(f"/admin/analytics/optionsnapshot/{option.pk}/change/")

    assert options.status_code == 200 and "NIFTY" in options.content.decode()
    assert futures.status_code == 200 and "NIFTY26NOVFUT" in futures.content.decode()
    assert detail.status_code == 200 and "Save" not in detail.content.decode()
    assert client.get("/admin/analytics/optionsnapshot/add/").status_code == 403
    assert client.post(f"/admin/analytics/optionsnapshot/{option.pk}/delete/", {"post": "yes"}).status_code == 403
    assert OptionSnapshot.objects.filter(pk=option.pk).exists()
