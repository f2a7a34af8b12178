"""The paper exchange's cost does not grow with orders resting away from the market: the step reads only the
orders that can fill, the RMS sums the resting ones in the database; and it fills what a full walk would."""

import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from brokers.paper import engine, ledger, market
from brokers.paper.models import PaperAccount, PaperHolding, PaperInstrument, PaperMarket, PaperOrder
from brokers.paper.tests.test_locking import someone_waits_on_a_lock
from brokers.tests.fixtures import PAPER_START_DAY, ist, wait_for

pytestmark = pytest.mark.django_db
SYMBOLS = ("ITC", "INFY", "SBIN", "TCS")
TICK = Decimal("0.05")


def tick(value: Decimal) -> Decimal:
    return max((value / TICK).quantize(Decimal("1")) * TICK, TICK)


def accounts(count: int) -> list[PaperAccount]:
    return [PaperAccount.objects.get_or_create(account_id=f"PA{index:08d}")[0] for index in range(1, count + 1)]


def order(account: PaperAccount, instrument: PaperInstrument, **fields) -> PaperOrder:
    fields = {"transaction_type": "BUY", "order_type": "LIMIT", "product": "CNC", "quantity": 10,
              "status": "OPEN", **fields}
    return PaperOrder(order_id=f"{random.getrandbits(60):018d}", account=account, instrument=instrument,
                      order_timestamp=ist(PAPER_START_DAY, 9, 15), **fields)


def rest_away_from_the_market(count: int, *, spread_over: int = 1, symbols=SYMBOLS, side: str = "",
                              quantity: int = 10) -> None:
    """`count` orders that cannot fill this session: limits half or twice the price, stops as far, across the
    symbols and `spread_over` accounts (every kind on one side when `side` is given)."""
    owners, rows = accounts(spread_over), []
    instruments = list(PaperInstrument.objects.filter(tradingsymbol__in=symbols))
    for index in range(count):
        instrument, owner = instruments[index % len(instruments)], owners[index % len(owners)]
        last, kind = instrument.last_price, index % 4
        buying = side == "BUY" if side else kind in (0, 2)
        away = tick(last / 2) if buying else tick(last * 2)
        if kind < 2:
            rows.append(order(owner, instrument, transaction_type="BUY" if buying else "SELL", price=away,
                              quantity=quantity))
        else:
            rows.append(order(owner, instrument, transaction_type="BUY" if buying else "SELL", order_type="SL-M",
                              quantity=quantity,
                              status="TRIGGER PENDING", trigger_price=tick(last * 2) if buying else tick(last / 2)))
    PaperOrder.objects.bulk_create(rows)


def step_queries() -> int:
    """Queries of one market step, a second on."""
    clock = PaperMarket.objects.get().clock_at
    with CaptureQueriesContext(connection) as captured:
        market.market_advance(to=clock + timedelta(seconds=1))
    return len(captured)


@pytest.mark.parametrize("spread_over", [1, 100])
def test_a_market_step_costs_the_same_beside_20_or_2000_resting_orders(paper_market, spread_over):
    rest_away_from_the_market(20, spread_over=spread_over)
    beside_20 = step_queries()
    rest_away_from_the_market(1980, spread_over=spread_over)
    beside_2000 = step_queries()

    assert beside_20 == beside_2000 <= 8
    assert PaperOrder.objects.exclude(status__in=("OPEN", "TRIGGER PENDING")).count() == 0


def accept_queries(paper_account, *, side: str = "BUY") -> int:
    itc = PaperInstrument.objects.get(tradingsymbol="ITC")
    with CaptureQueriesContext(connection) as captured:
        placed = engine.engine_accept(
            account_id=paper_account.account_id, instrument=itc, transaction_type=side, order_type="LIMIT",
            product="CNC", quantity=10, price=tick(itc.last_price / 2 if side == "BUY" else itc.last_price * 2),
            trigger_price=None, validity="DAY", variety="regular", tag="scale")
    assert placed.status == "OPEN", placed.status_message
    return len(captured)


def test_accepting_an_order_costs_the_same_beside_20_or_2000_resting_same_way_orders(paper_market, paper_account):
    rest_away_from_the_market(20, symbols=("ITC",), side="BUY", quantity=1)
    beside_20 = accept_queries(paper_account)
    rest_away_from_the_market(1980, symbols=("ITC",), side="BUY", quantity=1)
    beside_2000 = accept_queries(paper_account)

    assert beside_20 == beside_2000 <= 13


def test_the_rms_counts_resting_orders_as_filled_first_from_one_sum(paper_market, paper_account):
    itc = PaperInstrument.objects.get(tradingsymbol="ITC")
    PaperHolding.objects.create(account=paper_account, instrument=itc, quantity=30, average_price=Decimal("400"))
    PaperOrder.objects.bulk_create([order(paper_account, itc, transaction_type="SELL", price=tick(itc.last_price * 2)),
                                    order(paper_account, itc, transaction_type="SELL", order_type="MARKET",
                                          quantity=15, filled_quantity=5)])

    def check(quantity: int) -> Decimal:
        return ledger.ledger_check(account_id=paper_account.account_id, instrument=itc, side="SELL",
                                   quantity=quantity, price=itc.last_price, product="CNC")

    assert check(10) == 0  # 10 + 10 resting of the 30 held
    with pytest.raises(ledger.FillRejected, match="open orders already sell 20"):
        check(11)


def test_open_order_margin_by_segment_sums_what_each_kept_order_blocks(paper_market, paper_account):
    itc = PaperInstrument.objects.get(tradingsymbol="ITC")
    future = PaperInstrument.objects.get(tradingsymbol="NIFTY26NOVFUT")
    PaperOrder.objects.bulk_create([
        order(paper_account, itc, product="MIS", quantity=100, margin_per_unit=Decimal("80.5")),
        order(paper_account, itc, product="CNC", quantity=10, filled_quantity=4, margin_per_unit=Decimal("400")),
        order(paper_account, future, product="NRML", quantity=130, margin_per_unit=Decimal("2000")),
        order(paper_account, future, product="NRML", quantity=65, status="COMPLETE", margin_per_unit=Decimal("9")),
    ])

    def equity_only(instrument: PaperInstrument, product: str) -> bool:
        return instrument.instrument_type == "EQ"

    def mis_only(instrument: PaperInstrument, product: str) -> bool:
        return product == "MIS"

    assert ledger.open_order_margin(paper_account) == Decimal("8050") + 2400 + 260000
    assert ledger.open_order_margin(paper_account, include=equity_only) == Decimal("8050") + 2400
    assert ledger.open_order_margin(paper_account, include=mis_only) == Decimal("8050")


def test_orders_that_can_fill_among_2000_resting_ones_fill_in_the_step(paper_market, paper_account):
    rest_away_from_the_market(2000, spread_over=10)
    itc, infy, sbin = (PaperInstrument.objects.get(tradingsymbol=symbol) for symbol in ("ITC", "INFY", "SBIN"))
    PaperOrder.objects.bulk_create([
        order(paper_account, itc, price=tick(itc.last_price * Decimal("1.02")), tag="limit"),
        order(paper_account, infy, order_type="SL-M", status="TRIGGER PENDING", tag="stop",
              trigger_price=tick(infy.last_price * Decimal("0.98"))),
        order(paper_account, sbin, order_type="MARKET", product="MIS", quantity=5000, filled_quantity=500,
              tag="remainder"),
    ])
    # The stop's trigger is crossed: its price is set off the walk's.
    PaperInstrument.objects.filter(pk=infy.pk).update(last_price=infy.last_price * 2)

    step_queries()

    filled = {row.tag: (row.status, row.filled_quantity) for row in PaperOrder.objects.exclude(tag="")}
    assert filled == {"limit": ("COMPLETE", 10), "stop": ("COMPLETE", 10), "remainder": ("OPEN", 3000)}


def test_a_stop_taken_while_a_step_ran_fills_on_the_next_step_though_its_price_stands_still(paper_market,
                                                                                          paper_account):
    """A stop matched against the price before a step that crossed its trigger is found by the next step,
    whether or not its instrument moves again."""
    infy = PaperInstrument.objects.get(tradingsymbol="INFY")
    PaperOrder.objects.bulk_create([order(paper_account, infy, order_type="SL-M", status="TRIGGER PENDING",
                                          tag="stop", trigger_price=tick(infy.last_price * Decimal("0.98")))])
    with transaction.atomic():
        assert engine.engine_step(now=PaperMarket.objects.get().clock_at) == 1
    assert PaperOrder.objects.get(tag="stop").status == "COMPLETE"


def test_square_off_cancels_open_intraday_orders_and_the_close_all_the_rest(paper_market):
    rest_away_from_the_market(200, spread_over=5)
    PaperOrder.objects.filter(pk__in=PaperOrder.objects.order_by("pk").values("pk")[:50]).update(product="MIS")

    market.market_advance(to=ist(PAPER_START_DAY, 15, 20, 30))
    assert set(PaperOrder.objects.filter(product="MIS").values_list("status", "status_message")) == {
        ("CANCELLED", "Intraday order cancelled at the 15:20 square-off")}
    assert set(PaperOrder.objects.filter(product="CNC").values_list("status", flat=True)) == {"OPEN", "TRIGGER PENDING"}

    market.market_advance(to=ist(PAPER_START_DAY, 15, 31))
    assert set(PaperOrder.objects.filter(product="CNC").values_list("status", "status_message")) == {
        ("CANCELLED", "Order expired at the close")}


# --- the step against a walk of every open order, as the exchange once ran ---------------------------------

def full_walk(*, now, event: str = "") -> int:
    """Every open order matched in time order, whether it can fill or not."""
    changed = 0
    for row in PaperOrder.objects.filter(status__in=engine.OPEN_STATES).select_related("instrument", "account"):
        before = (row.status, row.filled_quantity)
        engine._match(row, now)
        if (row.status, row.filled_quantity) != before:
            row.save()
            changed += 1
    return changed


def book() -> dict[str, tuple]:
    return {row.order_id: (row.status, row.filled_quantity, row.average_price, row.status_message, row.trades.count())
            for row in PaperOrder.objects.all()}


def random_orders(rng: random.Random, count: int) -> list[PaperOrder]:
    owners = accounts(3)
    instruments = list(PaperInstrument.objects.filter(tradingsymbol__in=SYMBOLS + ("NIFTY26NOVFUT",)))
    for owner in owners:  # some delivery sells have the shares, some do not
        PaperHolding.objects.get_or_create(account=owner, instrument=instruments[0],
                                           defaults={"quantity": 40, "average_price": Decimal("100")})
    rows = []
    for _ in range(count):
        instrument = rng.choice(instruments)
        lot, last = instrument.lot_size, instrument.last_price
        near = lambda: tick(last * Decimal(str(1 + rng.uniform(-0.002, 0.002))))  # noqa: E731
        kind = rng.choice(("MARKET", "LIMIT", "SL", "SL-M"))
        quantity = lot * rng.choice((1, 2, 10, 40)) if instrument.exchange == "NFO" else rng.choice((5, 10, 800, 3000))
        stop = kind in ("SL", "SL-M") and rng.random() < 0.7
        rows.append(order(
            rng.choice(owners), instrument, transaction_type=rng.choice(("BUY", "SELL")), order_type=kind,
            product="NRML" if instrument.exchange == "NFO" else rng.choice(("CNC", "MIS")),
            validity="IOC" if rng.random() < 0.1 else "DAY", quantity=quantity,
            filled_quantity=0 if stop or rng.random() < 0.8 else quantity // 2 // lot * lot,
            status="TRIGGER PENDING" if stop else "OPEN",
            price=near() if kind in ("LIMIT", "SL") else Decimal("0"), trigger_price=near() if stop else Decimal("0")))
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_step_fills_exactly_what_a_walk_of_every_open_order_would(paper_market, monkeypatch, seed):
    PaperOrder.objects.bulk_create(random_orders(random.Random(seed), 150))
    # Every price moves in the step (an order taken in session was matched when it was taken).
    PaperInstrument.objects.update(last_price=TICK)
    then = PaperMarket.objects.get().clock_at + timedelta(seconds=1)
    before = book()

    with transaction.atomic():
        with monkeypatch.context() as patched:
            patched.setattr(engine, "engine_step", full_walk)
            market.market_advance(to=then)
        expected = book()
        transaction.set_rollback(True)
    market.market_advance(to=then)

    assert book() == expected
    # The mix is a fair one: many orders change (fill, trigger, are refused or cancelled), many do not.
    changed = sum(1 for order_id, state in expected.items() if state[:2] != before[order_id][:2])
    assert 30 < changed < 120


# --- an order taken while a market step holds its account ---------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_an_order_taken_while_a_step_holds_the_account_fills_at_the_price_that_step_committed(paper_market,
                                                                                               paper_account):
    itc = PaperInstrument.objects.get(tradingsymbol="ITC")  # as the caller looked it up
    moved = itc.last_price + 2
    holding, errors = threading.Event(), []

    def market_step():  # holds the account, moves the price once the order waits on it, commits
        try:
            with transaction.atomic():
                list(PaperAccount.objects.select_for_update().filter(pk=paper_account.pk))
                holding.set()
                assert wait_for(someone_waits_on_a_lock)
                PaperInstrument.objects.filter(pk=itc.pk).update(last_price=moved)
        except Exception as error:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(error)
        finally:
            connections.close_all()

    step = threading.Thread(target=market_step)
    step.start()
    assert wait_for(holding.is_set)
    placed = engine.engine_accept(account_id=paper_account.account_id, instrument=itc, transaction_type="BUY",
                                  order_type="MARKET", product="CNC", quantity=10, price=None, trigger_price=None,
                                  validity="DAY", variety="regular", tag="moved")
    step.join(timeout=60)

    assert errors == []
    assert (placed.status, placed.average_price) == ("COMPLETE", moved)
    assert list(placed.trades.values_list("price", flat=True)) == [moved]
