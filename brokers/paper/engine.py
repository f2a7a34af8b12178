"""The paper exchange's matching engine: orders fill against the last price through a simulated depth.

Market orders walk DEPTH_LEVELS price levels away from the last price (one
tick each, a fixed quantity per level), so size costs slippage and an order
larger than the book fills partly now and the rest on later steps. Limit
orders fill when the price reaches them, stop orders (SL, SL-M) wait for their
trigger. IOC orders cancel what they cannot fill at once; DAY orders still
open at the close are cancelled; intraday (MIS) orders are cancelled at the
15:20 square-off. Every change is announced after its transaction commits, as
a broker's postback would be: a broker-neutral push (brokers/pushes.py) of the
order's new state and its new fills, in domain terms.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone

from brokers.domain import Broker, DepthLevel
from brokers.paper import ledger
from brokers.paper.catalogue import session_is_open
from brokers.paper.models import PaperAccount, PaperInstrument, PaperMarket, PaperOrder, PaperTrade
from brokers.paper.reports import fill_report, order_report
from brokers.pushes import OrderPush, broker_pushed

logger = logging.getLogger("budhitrade.paper")

DEPTH_LEVELS = 5
OPEN_STATES = ledger.OPEN_ORDER_STATES
PRICED = ("LIMIT", "SL")  # capped at their price; MARKET and SL-M take what the depth offers


class OrderRefused(ValueError):
    """The exchange refuses a request about an order; the message is the broker's reason."""


def _level_quantity(instrument: PaperInstrument) -> int:
    return instrument.lot_size * 20 if instrument.is_derivative else 500


def _level_price(instrument: PaperInstrument, level: int, *, buying: bool) -> Decimal:
    """Where the level-th slice of a buy (an ask) or a sell (a bid) fills: a tick further from the last price each."""
    last, tick = instrument.last_price, instrument.tick_size
    return last + level * tick if buying else max(last - level * tick, tick)


def market_depth(instrument: PaperInstrument, *, now: datetime) -> tuple[tuple[DepthLevel, ...], tuple[DepthLevel, ...]]:
    """(bids, asks): the levels the engine fills against now, best first; none for an index or out of session."""
    if instrument.instrument_type == "INDEX" or not session_is_open(now):
        return (), ()
    quantity = _level_quantity(instrument)
    return tuple(tuple(DepthLevel(price=_level_price(instrument, level, buying=buying), quantity=quantity)
                       for level in range(DEPTH_LEVELS)) for buying in (False, True))


def _new_id() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(15))


def market_clock() -> datetime:
    return PaperMarket.objects.values_list("clock_at", flat=True).get(pk=1)


def _announce(order: PaperOrder, trades: list[PaperTrade]) -> None:
    """Push the order's change once the exchange's transaction commits. Each push is its own robust hook: one
    that fails (the database restarting mid-apply) is logged and does not drop the next order's; what it
    left out, the due reconcile's backstop repairs."""
    push = OrderPush(update=order_report(order), fills=tuple(fill_report(trade) for trade in trades))
    account_id = order.account.account_id

    def announce() -> None:
        try:
            broker_pushed.send(sender=Broker.PAPER, account_id=account_id, push=push)
        except Exception as error:
            logger.error("paper_push_failed", extra={"account_id": account_id, "order": push.update.broker_order_id,
                                                     "reason": type(error).__name__})

    transaction.on_commit(announce, robust=True)


def _finish(order: PaperOrder, status: str, message: str, now: datetime) -> None:
    order.status, order.status_message, order.exchange_timestamp = status, message, now


def _match(order: PaperOrder, now: datetime) -> list[PaperTrade]:
    """Fill what the market allows now; returns the new trades (the order is saved by the caller)."""
    if order.status not in OPEN_STATES or not session_is_open(now):
        return []
    instrument = order.instrument
    last = instrument.last_price
    buying = order.transaction_type == "BUY"
    if order.status == "TRIGGER PENDING":
        if (last >= order.trigger_price) if buying else (last <= order.trigger_price):
            order.status = "OPEN"
        else:
            return []
    cap = order.price if order.order_type in PRICED else None
    trades, remaining = [], order.quantity - order.filled_quantity
    for level in range(DEPTH_LEVELS):
        if remaining <= 0:
            break
        price = _level_price(instrument, level, buying=buying)
        if cap is not None and ((price > cap) if buying else (price < cap)):
            break
        quantity = min(remaining, _level_quantity(instrument))
        try:
            ledger.ledger_fill(account_id=order.account.account_id, instrument=instrument,
                               side=order.transaction_type, quantity=quantity, price=price, product=order.product,
                               check_funds=False)
        except ledger.FillRejected as refusal:  # e.g. the shares were sold by another order meanwhile
            _finish(order, "CANCELLED" if order.filled_quantity else "REJECTED", str(refusal), now)
            return trades
        trades.append(PaperTrade.objects.create(trade_id=_new_id(), order=order, quantity=quantity, price=price,
                                                filled_at=now))
        order.average_price = ((order.average_price * order.filled_quantity + price * quantity)
                               / (order.filled_quantity + quantity))
        order.filled_quantity += quantity
        remaining -= quantity
    if trades:
        order.exchange_timestamp = now
        order.exchange_order_id = order.exchange_order_id or _new_id()
    if remaining == 0:
        _finish(order, "COMPLETE", "Order executed", now)
    elif order.validity == "IOC":
        _finish(order, "CANCELLED", f"IOC: {remaining} unfilled cancelled", now)
    return trades


@transaction.atomic
def engine_accept(*, account_id: str, instrument: PaperInstrument, transaction_type: str, order_type: str,
                  product: str, quantity: int, price: Decimal | None, trigger_price: Decimal | None,
                  validity: str, variety: str, tag: str, disclosed_quantity: int = 0) -> PaperOrder:
    """Take an order into the book after the exchange's and the RMS's checks; a refused one is REJECTED."""
    # The account's lock first (ledger_check takes it again): a market step that moved the clock and the price
    # meanwhile has committed, so the RMS and the match see its price, not the one the caller looked up.
    account = PaperAccount.objects.select_for_update().get(account_id=account_id)
    now = market_clock()
    instrument = PaperInstrument.objects.get(pk=instrument.pk)
    order = PaperOrder(
        order_id=_new_id(), account=account, instrument=instrument, tag=tag, transaction_type=transaction_type,
        order_type=order_type, product=product, variety=variety, validity=validity, quantity=quantity,
        disclosed_quantity=disclosed_quantity, price=price or Decimal("0"), trigger_price=trigger_price or Decimal("0"),
        status="TRIGGER PENDING" if order_type in ("SL", "SL-M") else "OPEN", order_timestamp=now)
    reason = _refusal(order, instrument, now)
    if reason:
        _finish(order, "REJECTED", reason, now)
        order.save()
        _announce(order, [])
        logger.info("paper_order_rejected", extra={"account_id": account_id, "reason": reason})
        return order
    order.save()
    trades = _match(order, now)
    order.save()
    _announce(order, trades)
    return order


def _refusal(order: PaperOrder, instrument: PaperInstrument, now: datetime) -> str:
    """Why the exchange or the RMS refuses the order, or ''."""
    in_session = session_is_open(now)
    if order.variety == "amo" and in_session:
        return "After-market orders are taken only outside market hours"
    if order.variety != "amo" and not in_session:
        return "Markets are closed right now; place an after-market order (variety amo)"
    try:
        _block_margin(order, instrument)
    except ledger.FillRejected as refusal:
        return str(refusal)
    return ""


def _block_margin(order: PaperOrder, instrument: PaperInstrument, *, already_blocked: Decimal = Decimal("0")) -> None:
    """The RMS's check of what is left of the order beside the account's other open orders; it then blocks
    what the check found (FillRejected when the funds or shares are not there)."""
    remaining = order.quantity - order.filled_quantity
    blocked = ledger.ledger_check(account_id=order.account.account_id, instrument=instrument,
                                  side=order.transaction_type, quantity=remaining,
                                  price=ledger.order_reference_price(order, instrument), product=order.product,
                                  excluding_order=order.pk, already_blocked=already_blocked)
    order.margin_per_unit = blocked / remaining


def _open_order(order_id: str, account_id: str) -> PaperOrder:
    order = PaperOrder.objects.select_for_update().filter(order_id=order_id, account__account_id=account_id).first()
    if order is None:
        raise OrderRefused("Order not found")
    if order.status not in OPEN_STATES:
        raise OrderRefused(f"Order is {order.status.lower()}; only open orders can change")
    return order


@transaction.atomic
def engine_modify(*, order_id: str, account_id: str, quantity: int | None = None, price: Decimal | None = None,
                  trigger_price: Decimal | None = None, order_type: str | None = None,
                  validity: str | None = None) -> PaperOrder:
    """Change an open order's price, trigger, quantity, type or validity, then match it again."""
    # Locks go account, then order, everywhere (as in engine_step), so no two transactions wait on each other.
    PaperAccount.objects.select_for_update().filter(account_id=account_id).first()
    order = _open_order(order_id, account_id)
    blocked = order.margin_per_unit * (order.quantity - order.filled_quantity)
    if quantity is not None:
        if quantity <= order.filled_quantity:
            raise OrderRefused("Quantity cannot go below what is already filled")
        order.quantity = quantity
    order.price = price if price is not None else order.price
    order.trigger_price = trigger_price if trigger_price is not None else order.trigger_price
    order.order_type = order_type or order.order_type
    order.validity = validity or order.validity
    order.modifications += 1
    try:
        _block_margin(order, order.instrument, already_blocked=blocked)
    except ledger.FillRejected as refusal:
        raise OrderRefused(str(refusal)) from refusal
    now = market_clock()
    trades = _match(order, now)
    order.save()
    _announce(order, trades)
    return order


@transaction.atomic
def engine_cancel(*, order_id: str, account_id: str) -> PaperOrder:
    """Cancel what is left of an open order."""
    order = _open_order(order_id, account_id)
    _finish(order, "CANCELLED", "Cancelled by the user", market_clock())
    order.save()
    _announce(order, [])
    return order


def _fillable():
    """(id, account id) of the open orders the market lets fill now, in one query (a union of one branch per
    kind of order, each served by a partial index): everything `_match` would change, and nothing else.

    Market and triggered SL-M orders with quantity left fill from the depth every step, as do limit orders
    through the touch (what the depth could not fill at once fills on later steps); a stop whose trigger the
    last price has crossed. Every branch is asked every step, whether its instrument moved or not: an order
    taken or changed while a step ran was matched against the price before that step. An IOC order still
    open was taken while the market was shut and is settled at once.
    """
    orders = PaperOrder.objects.order_by().values_list("pk", "account_id")
    last, floor = F("instrument__last_price"), Greatest(F("instrument__last_price"), F("instrument__tick_size"))
    resting = orders.filter(status="OPEN", order_type__in=PRICED)
    branches = [
        orders.filter(status="OPEN", order_type__in=("MARKET", "SL-M"), quantity__gt=F("filled_quantity")),
        orders.filter(status="OPEN", validity="IOC"),
        resting.filter(transaction_type="BUY", price__gte=last),
        resting.filter(transaction_type="SELL", price__lte=floor),
    ]
    stops = orders.filter(status="TRIGGER PENDING")
    branches += [stops.filter(transaction_type="BUY", trigger_price__lte=last),
                 stops.filter(transaction_type="SELL", trigger_price__gte=last)]
    return branches[0].union(*branches[1:], all=True)


def _lock(candidates) -> list[PaperOrder]:
    """Lock the accounts of (id, account id) `candidates`, by pk, then those orders, in time order: the lock
    order of every writer here. An order whose account was not locked is left for the next step."""
    rows = list(candidates)
    if not rows:
        return []
    accounts = list(PaperAccount.objects.select_for_update().filter(pk__in={account for _, account in rows})
                    .order_by("pk").values_list("pk", flat=True))
    return list(PaperOrder.objects.select_for_update(of=("self",)).select_related("instrument", "account")
                .filter(pk__in={pk for pk, _ in rows}, account_id__in=accounts, status__in=OPEN_STATES))


def _cancel_all(orders, message: str, now: datetime) -> int:
    """Cancel every open order of the queryset `orders`: one locking read, one update, an announcement each."""
    cancelled = _lock(orders.filter(status__in=OPEN_STATES).order_by().values_list("pk", "account_id"))
    if not cancelled:
        return 0
    PaperOrder.objects.filter(pk__in=[order.pk for order in cancelled]).update(
        status="CANCELLED", status_message=message, exchange_timestamp=now, updated_at=timezone.now())
    for order in cancelled:
        _finish(order, "CANCELLED", message, now)
        _announce(order, [])
    return len(cancelled)


def engine_step(*, now: datetime, event: str = "") -> int:
    """Match the open orders the market's prices let fill now; at 15:20 cancel open MIS orders, at the close
    DAY ones.

    Runs inside the market's advance transaction. Returns how many orders changed.
    """
    changed = 0
    if session_is_open(now):
        for order in _lock(_fillable()):
            before = (order.status, order.filled_quantity)
            trades = _match(order, now)
            if (order.status, order.filled_quantity) != before:
                order.save()
                _announce(order, trades)
                changed += 1
    if event == "square_off":
        changed += _cancel_all(PaperOrder.objects.filter(product="MIS"),
                               "Intraday order cancelled at the 15:20 square-off", now)
    elif event == "close":
        changed += _cancel_all(PaperOrder.objects.all(), "Order expired at the close", now)
    return changed
