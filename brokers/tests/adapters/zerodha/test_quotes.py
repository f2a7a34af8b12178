"""ZerodhaAdapter.quotes through the real kiteconnect SDK: Kite's quote answers, its batch sizes and its pace."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from brokers.adapters.base import BrokerOrderRejected, BrokerSessionExpired
from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.adapters.zerodha.mapping import IST
from brokers.domain import DepthLevel, QuoteInstrument, QuoteKind
from brokers.tests.fixtures import KITE_ROOT, wire_body
from budhitrade.errors import InvalidInput

CREDENTIALS = {"api_key": "kitekey123", "api_secret": "kitesecret456"}
SESSION = {"access_token": "kAcc3ssT0kenValue9"}
INFY = QuoteInstrument(exchange="NSE", tradingsymbol="INFY")


def adapter(account_id: str = "") -> ZerodhaAdapter:
    return ZerodhaAdapter(credentials=CREDENTIALS, session=SESSION,
                          account_id=account_id or f"QT{uuid.uuid4().hex[:8]}")


class BudgetClock:
    """The quote budget's clock (budhitrade.throttle's `time`): sleeping moves it on at once, so pacing into the
    next window is observed through the budget's windows rather than waited out."""

    def __init__(self):
        self.now = time.time()
        self.slept = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += seconds


@pytest.fixture
def budget_clock(monkeypatch):
    clock = BudgetClock()
    monkeypatch.setattr("budhitrade.throttle.time", clock)
    return clock


def serve_quotes(kite_wire, path: str, fixture: str, clock: BudgetClock | None = None, leave_out=()):
    """Kite's answer to each call: the real body's INFY entry under every key asked (its last price made the
    key's number, so each result can be told apart), less `leave_out`; records each call's keys and window."""
    template = next(iter(wire_body("zerodha", fixture)["data"].values()))
    calls: list[tuple[list[str], int | None]] = []

    def answer(request):
        keys = parse_qs(urlsplit(request.url).query)["i"]
        calls.append((keys, int(clock.time()) if clock else None))
        data = {key: {**template, "instrument_token": 100000 + n, "last_price": int(key.rsplit("S", 1)[-1]) + 0.05}
                for n, key in enumerate(keys) if key not in leave_out}
        return 200, {}, json.dumps({"status": "success", "data": data})

    kite_wire.mock.add_callback("GET", f"{KITE_ROOT}{path}", callback=answer, content_type="application/json")
    return calls


def many(count: int) -> list[QuoteInstrument]:
    return [QuoteInstrument(exchange="NSE", tradingsymbol=f"S{n}") for n in range(count)]


def test_1200_full_quotes_take_three_calls_of_at_most_500_in_order_each_in_its_own_budget_window(
        kite_wire, budget_clock, settings):
    assert settings.BROKER_QUOTE_RATE_LIMITS["zerodha"] == (1, 1)  # Kite's own: one quote request a second
    calls = serve_quotes(kite_wire, "/quote", "quote.json", budget_clock)
    asked = many(1200)

    quotes = adapter().quotes(asked, QuoteKind.ALL)

    assert [len(keys) for keys, _ in calls] == [500, 500, 200]
    assert [key for keys, _ in calls for key in keys] == [f"NSE:S{n}" for n in range(1200)]
    assert [q.instrument.tradingsymbol for q in quotes] == [i.tradingsymbol for i in asked]
    assert [q.last_price for q in quotes] == [Decimal(n) + Decimal("0.05") for n in range(1200)]
    windows = [window for _, window in calls]
    assert windows == [windows[0], windows[0] + 1, windows[0] + 2]  # one request a window, the next one waited for
    assert 1 < budget_clock.slept <= 2.001  # a second before each of the two later requests, no longer
    assert not kite_wire.calls("/quote/ltp") and not kite_wire.calls("/quote/ohlc")


@pytest.mark.parametrize("kind,path,fixture", [(QuoteKind.LTP, "/quote/ltp", "ltp.json"),
                                               (QuoteKind.OHLC, "/quote/ohlc", "ohlc.json")])
def test_1200_ltp_or_ohlc_quotes_take_two_calls_of_at_most_1000(kite_wire, budget_clock, kind, path, fixture):
    calls = serve_quotes(kite_wire, path, fixture, budget_clock)

    quotes = adapter().quotes(many(1200), kind)

    assert [len(keys) for keys, _ in calls] == [1000, 200]
    assert calls[1][1] == calls[0][1] + 1
    assert len(quotes) == 1200 and quotes[1199].last_price == Decimal("1199.05")
    assert not kite_wire.calls("/quote") and len(kite_wire.mock.calls) == 2  # no full-quote call


def test_the_budget_is_the_accounts_not_the_adapters(kite_wire, budget_clock):
    calls = serve_quotes(kite_wire, "/quote/ltp", "ltp.json", budget_clock)
    account = f"QT{uuid.uuid4().hex[:8]}"

    adapter(account).quotes([QuoteInstrument(exchange="NSE", tradingsymbol="S1")], QuoteKind.LTP)
    adapter(account).quotes([QuoteInstrument(exchange="NSE", tradingsymbol="S2")], QuoteKind.LTP)  # as another process
    adapter().quotes([QuoteInstrument(exchange="NSE", tradingsymbol="S3")], QuoteKind.LTP)  # another account

    assert [window - calls[0][1] for _, window in calls] == [0, 1, 1]


def test_quote_requests_are_a_second_apart_even_across_a_window_edge(kite_wire, budget_clock):
    times: list[float] = []
    serve_quotes(kite_wire, "/quote/ltp", "ltp.json", budget_clock)
    budget_clock.now = int(budget_clock.now) + 5.98  # 20 ms before a second ends
    account = f"QT{uuid.uuid4().hex[:8]}"

    for symbol in ("S1", "S2", "S3"):
        adapter(account).quotes([QuoteInstrument(exchange="NSE", tradingsymbol=symbol)], QuoteKind.LTP)
        times.append(budget_clock.now)

    assert [round(later - earlier, 3) for earlier, later in zip(times, times[1:])] == [1.0, 1.0]


def test_a_full_quote_maps_depth_ohlc_circuits_and_times_from_kites_body(kite_wire):
    kite_wire.reply("GET", "/quote", "quote.json")

    [quote] = adapter().quotes([INFY], QuoteKind.DEPTH)

    assert (quote.last_price, quote.open, quote.high, quote.low, quote.close) == (
        Decimal("1412.95"), Decimal("1396"), Decimal("1421.75"), Decimal("1395.55"), Decimal("1389.65"))
    assert quote.change == Decimal("23.30")  # Kite leaves net_change at 0: last price less the previous close
    assert quote.bids == () and quote.asks == (DepthLevel(price=Decimal("1412.95"), quantity=5191, orders=13),)
    assert (quote.volume, quote.average_price, quote.last_quantity) == (7360198, Decimal("1412.47"), 5)
    assert (quote.buy_quantity, quote.sell_quantity, quote.oi) == (0, 5191, 0)
    assert (quote.upper_circuit, quote.lower_circuit) == (Decimal("1528.6"), Decimal("1250.7"))
    assert (quote.week_52_high, quote.week_52_low) == (None, None)
    assert quote.exchange_timestamp.isoformat() == "2021-06-08T15:45:56+05:30"
    assert quote.last_trade_at.tzinfo == IST and quote.instrument.token == "408065"
    [call] = kite_wire.calls("/quote")
    assert parse_qs(urlsplit(call.request.url).query) == {"i": ["NSE:INFY"]}
    assert call.request.headers["Authorization"] == "token kitekey123:kAcc3ssT0kenValue9"


def test_an_ltp_quote_has_only_the_last_price(kite_wire):
    kite_wire.reply("GET", "/quote/ltp", "ltp.json")

    [quote] = adapter().quotes([INFY], QuoteKind.LTP)

    assert quote.last_price == Decimal("1074.35")
    assert (quote.open, quote.close, quote.volume, quote.bids, quote.upper_circuit) == (None, None, None, (), None)


def test_an_instrument_kite_leaves_out_is_an_empty_quote_in_its_place(kite_wire):
    serve_quotes(kite_wire, "/quote", "quote.json", leave_out={"NSE:S1"})

    quotes = adapter().quotes(many(3), QuoteKind.ALL)

    assert [q.instrument.tradingsymbol for q in quotes] == ["S0", "S1", "S2"]
    assert [q.last_price for q in quotes] == [Decimal("0.05"), None, Decimal("2.05")]
    assert quotes[1].received_at is not None and quotes[1].bids == ()


def test_an_instrument_asked_twice_is_fetched_once_and_given_twice(kite_wire):
    calls = serve_quotes(kite_wire, "/quote/ohlc", "ohlc.json")
    twice = QuoteInstrument(exchange="NSE", tradingsymbol="S7")

    quotes = adapter().quotes([twice, QuoteInstrument(exchange="NSE", tradingsymbol="S8"), twice], QuoteKind.OHLC)

    assert calls[0][0] == ["NSE:S7", "NSE:S8"]
    assert [q.last_price for q in quotes] == [Decimal("7.05"), Decimal("8.05"), Decimal("7.05")]


def test_an_instrument_by_token_is_asked_by_its_token(kite_wire):
    body = {"status": "success", "data": {"408065": wire_body("zerodha", "ltp.json")["data"]["NSE:INFY"]}}
    kite_wire.mock.add("GET", f"{KITE_ROOT}/quote/ltp", json=body)

    [quote] = adapter().quotes([QuoteInstrument(exchange="NSE", token="408065")], QuoteKind.LTP)

    assert quote.last_price == Decimal("1074.35")
    assert parse_qs(urlsplit(kite_wire.mock.calls[0].request.url).query) == {"i": ["408065"]}


def test_an_exchange_kite_does_not_quote_is_refused_before_any_call(kite_wire):
    with pytest.raises(BrokerOrderRejected) as caught:
        adapter().quotes([INFY, QuoteInstrument(exchange="LSE", tradingsymbol="VOD")])

    assert caught.value.status_code == 400 and "'LSE'" in caught.value.detail
    assert not kite_wire.mock.calls


def test_an_instrument_with_neither_symbol_nor_token_is_bad_input(kite_wire):
    with pytest.raises(InvalidInput):
        adapter().quotes([QuoteInstrument(exchange="NSE")])

    assert not kite_wire.mock.calls


def test_no_instruments_need_no_call(kite_wire):
    assert adapter().quotes([], QuoteKind.ALL) == [] and not kite_wire.mock.calls


def test_an_expired_session_on_a_quote_is_a_session_expiry(kite_wire):
    kite_wire.reply("GET", "/quote", "session_expired.json", status=403)

    with pytest.raises(BrokerSessionExpired):
        adapter().quotes([INFY])
