"""Snapshot capture from Kite: the recorded master's NIFTY chain, priced by kiteconnect's /quote on Kite's body."""

from __future__ import annotations

import copy
import json
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from analytics.capture import snapshot_capture
from analytics.models import FutureSnapshot, OptionSnapshot
from brokers.market.tests.listings import kite_connection  # noqa: F401  (a fixture)
from brokers.options import black76, years_to_expiry
from brokers.paper import catalogue
from brokers.tests.fixtures import KITE_ROOT, ist, wire_body

RATE = catalogue.RISK_FREE_RATE
HALF_TICK = 0.025

AT = ist(date(2026, 12, 1), 11, 0)  # Tuesday 1 December, the recorded master's day
KITE_FUTURE, KITE_VOL, KITE_EXPIRY = 24620.0, 0.15, date(2026, 12, 29)


def kite_chain_answer(*, crossed_put: bool = False) -> tuple[dict, dict]:
    """Kite's /quote answer for the recorded master's NIFTY chain: the real body's INFY entry under each key,
    with that instrument's prices (options at Black-76 on KITE_VOL, rounded to a tick)."""
    template = next(iter(wire_body("zerodha", "quote.json")["data"].values()))
    years = years_to_expiry(KITE_EXPIRY, AT)
    premium = {kind: float(catalogue.round_to_tick(black76(future=KITE_FUTURE, strike=24500, years=years, rate=RATE,
                                                           vol=KITE_VOL, option_type=kind))) for kind in ("CE", "PE")}
    prices = {"NSE:NIFTY 50": (24505.3, None, None), "NFO:NIFTY26DECFUT": (KITE_FUTURE, KITE_FUTURE - 0.1, KITE_FUTURE),
              "NFO:NIFTY26DEC24500CE": (premium["CE"], premium["CE"] - 0.05, premium["CE"] + 0.05),
              "NFO:NIFTY26DEC24500PE": (premium["PE"], premium["PE"] + (0.5 if crossed_put else -0.05),
                                        premium["PE"] + 0.05 * (not crossed_put))}
    data = {}
    for n, (key, (last, bid, ask)) in enumerate(prices.items()):
        entry = copy.deepcopy(template)
        entry.update(instrument_token=900 + n, last_price=last, oi=0 if key.startswith("NSE") else 1000 * (n + 1),
                     volume=0 if key.startswith("NSE") else 5000 * (n + 1))
        entry["depth"]["buy"][0].update(price=bid or 0, quantity=65 if bid else 0)
        entry["depth"]["sell"][0].update(price=ask or 0, quantity=65 if ask else 0)
        data[key] = entry
    return {"status": "success", "data": data}, premium


def serve_kite_chain(kite_wire, **options):
    body, premium = kite_chain_answer(**options)
    asked = []

    def answer(request):
        keys = parse_qs(urlsplit(request.url).query)["i"]
        asked.append(keys)
        return 200, {}, json.dumps({"status": "success", "data": {k: body["data"][k] for k in keys}})

    kite_wire.mock.add_callback("GET", f"{KITE_ROOT}/quote", callback=answer, content_type="application/json")
    return asked, premium


def test_a_kite_capture_reads_the_chain_through_kiteconnect(kite_connection, kite_wire, settings):  # noqa: F811
    settings.ANALYTICS_ACCOUNT_ID = "zx4821"
    asked, premium = serve_kite_chain(kite_wire)

    capture = snapshot_capture(at=AT)

    assert (capture.source, capture.options, capture.futures) == ("zerodha", 2, 1)
    assert [sorted(keys) for keys in asked] == [sorted(["NSE:NIFTY 50", "NFO:NIFTY26DECFUT", "NFO:NIFTY26DEC24500CE",
                                                        "NFO:NIFTY26DEC24500PE"])]
    call, put = OptionSnapshot.objects.order_by("option_type")
    years = years_to_expiry(KITE_EXPIRY, AT)
    for row in (call, put):
        assert row.source == "zerodha" and row.underlying == "NIFTY" and row.strike == Decimal("24500")
        assert row.ltp == Decimal(str(premium[row.option_type]))
        assert (row.bid, row.ask) == (row.ltp - Decimal("0.05"), row.ltp + Decimal("0.05"))
        assert row.future_price == Decimal("24619.95")  # the future's mid
        assert row.underlying_price == Decimal("24505.30")
        model = black76(future=24619.95, strike=24500, years=years, rate=RATE, vol=row.iv, option_type=row.option_type)
        assert model == pytest.approx(float(row.ltp), abs=1e-6)  # the mid is the last price here
        assert abs(row.iv - KITE_VOL) < (HALF_TICK + 0.05) / (row.vega * 100)
    assert (call.oi, put.oi, call.volume) == (3000, 4000, 15000)
    future = FutureSnapshot.objects.get()
    assert (future.contract, future.close, future.open, future.oi) == ("NIFTY26DECFUT", Decimal("24620.00"),
                                                                      Decimal("24620.00"), 2000)


def test_a_crossed_kite_quote_gets_no_iv(kite_connection, kite_wire, settings):  # noqa: F811
    settings.ANALYTICS_ACCOUNT_ID = "ZX4821"
    serve_kite_chain(kite_wire, crossed_put=True)

    snapshot_capture(at=AT)

    put = OptionSnapshot.objects.get(option_type="PE")
    assert put.bid > put.ask
    assert (put.iv, put.delta, put.gamma, put.theta, put.vega) == (None,) * 5
    assert OptionSnapshot.objects.get(option_type="CE").iv is not None
