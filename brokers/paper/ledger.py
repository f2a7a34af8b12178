"""The paper exchange's accounts: fills, positions, T+1 delivery, MIS square-off, SPAN-like margin and funds.

Cash moves when money would move at a real broker: delivery buys and option
premium at the fill; intraday (MIS) and futures P&L at the next session's
open (futures are marked to the close every day); expired contracts settle at
their final price. What is free to trade is the cash, plus realised
intraday/futures P&L, less unrealised losses, less margin blocked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, DecimalField, F, Q, Sum, Value, When

from brokers.paper.catalogue import INDICES
from brokers.paper.models import PaperAccount, PaperHolding, PaperInstrument, PaperOrder, PaperPosition

logger = logging.getLogger("budhitrade.paper")

ZERO = Decimal("0")
MIS_MARGIN_RATE = Decimal("0.20")  # 5x intraday leverage on equity
SPAN_RATE = Decimal("0.06")
EXPOSURE_RATE = Decimal("0.02")
SHORT_OPTION_EXPOSURE_RATE = Decimal("0.02")
SHORT_OPTION_FLOOR_RATE = Decimal("0.03")
PRODUCTS = {"EQ": ("CNC", "MIS"), "FUT": ("NRML", "MIS"), "CE": ("NRML", "MIS"), "PE": ("NRML", "MIS")}
OPEN_ORDER_STATES = ("OPEN", "TRIGGER PENDING")


class FillRejected(ValueError):
    """The paper exchange refuses a fill: the reason is what a broker would say."""


@dataclass(frozen=True)
class PositionFigures:
    """One position's quantities and P&L as a broker reports them."""

    quantity: int
    average_price: Decimal
    buy_quantity: int
    buy_price: Decimal
    sell_quantity: int
    sell_price: Decimal
    value: Decimal
    pnl: Decimal
    m2m: Decimal
    unrealised: Decimal

    @property
    def realised(self) -> Decimal:
        return self.pnl - self.unrealised


def position_figures(position: PaperPosition, instrument: PaperInstrument, *, last_price: Decimal | None = None) -> PositionFigures:
    """Kite's arithmetic: overnight quantity counts as bought (or sold) at its carry price; m2m values it at the close."""
    ltp = instrument.last_price if last_price is None else last_price
    carried_long, carried_short = max(position.overnight_quantity, 0), max(-position.overnight_quantity, 0)
    buy_quantity = position.buy_quantity + carried_long
    sell_quantity = position.sell_quantity + carried_short
    buy_value = position.buy_value + carried_long * position.overnight_price
    sell_value = position.sell_value + carried_short * position.overnight_price
    net = buy_quantity - sell_quantity
    close = instrument.close_price or position.overnight_price
    m2m_buy = position.buy_value + carried_long * close
    m2m_sell = position.sell_value + carried_short * close
    buy_price = buy_value / buy_quantity if buy_quantity else ZERO
    sell_price = sell_value / sell_quantity if sell_quantity else ZERO
    average = buy_price if net > 0 else sell_price if net < 0 else ZERO
    return PositionFigures(
        quantity=net, average_price=average, buy_quantity=buy_quantity, buy_price=buy_price,
        sell_quantity=sell_quantity, sell_price=sell_price, value=sell_value - buy_value,
        pnl=sell_value - buy_value + net * ltp, m2m=m2m_sell - m2m_buy + net * ltp,
        unrealised=net * (ltp - average),
    )


def _pays_premium(position: PaperPosition, instrument: PaperInstrument) -> bool:
    """Delivery and options move cash at the fill; intraday equity and futures settle P&L later."""
    return position.product == "CNC" or instrument.is_option


def _margin(position: PaperPosition, instrument: PaperInstrument, spots: dict[str, Decimal], net: int) -> tuple[Decimal, Decimal]:
    """(span, exposure) blocked for a net quantity: a SPAN-like percentage of notional, no spread offsets."""
    size = abs(net)
    if not size:
        return ZERO, ZERO
    if instrument.instrument_type == "EQ":
        return (MIS_MARGIN_RATE * size * instrument.last_price if position.product == "MIS" else ZERO), ZERO
    if instrument.instrument_type == "FUT":
        notional = size * instrument.last_price
        return SPAN_RATE * notional, EXPOSURE_RATE * notional
    if net > 0:  # bought options: the premium paid is the whole risk
        return ZERO, ZERO
    spot = spots.get(instrument.underlying, instrument.strike)
    strike = instrument.strike
    out_of_money = max(strike - spot, ZERO) if instrument.instrument_type == "CE" else max(spot - strike, ZERO)
    span = max(SPAN_RATE * spot - out_of_money / 2, SHORT_OPTION_FLOOR_RATE * spot)
    return span * size, SHORT_OPTION_EXPOSURE_RATE * spot * size


def _spots() -> dict[str, Decimal]:
    """Index prices by the underlying name their contracts carry (NIFTY, BANKNIFTY)."""
    names = {index.name: index.symbol for index in INDICES}
    rows = PaperInstrument.objects.filter(instrument_type="INDEX").values_list("name", "last_price")
    return {names[name]: price for name, price in rows if name in names}


@dataclass(frozen=True)
class Funds:
    """A paper account's funds, whole or for a filtered part of its positions."""

    cash: Decimal
    span: Decimal
    exposure: Decimal
    mis_margin: Decimal
    m2m_realised: Decimal
    m2m_unrealised: Decimal
    option_premium: Decimal
    delivery: Decimal
    open_orders: Decimal = ZERO  # blocked by open orders until they fill or end

    @property
    def margin_used(self) -> Decimal:
        return self.span + self.exposure + self.mis_margin + self.open_orders

    @property
    def net(self) -> Decimal:
        return self.cash + self.m2m_realised + min(self.m2m_unrealised, ZERO) - self.margin_used


def _open_orders(account: PaperAccount):
    return PaperOrder.objects.filter(account=account, status__in=OPEN_ORDER_STATES)


def _blocked_sum() -> Sum:
    """What open orders block, summed by the database: what each one's acceptance found it would take, for the
    part of it still unfilled."""
    return Sum(F("margin_per_unit") * (F("quantity") - F("filled_quantity")),
               output_field=DecimalField(max_digits=24, decimal_places=6))


def _blocked_by(orders) -> Decimal:
    """What a queryset of open orders blocks."""
    return orders.aggregate(total=_blocked_sum())["total"] or ZERO


def _everything(instrument: PaperInstrument, product: str) -> bool:
    return True


def open_order_margin(account: PaperAccount, *,
                      include: Callable[[PaperInstrument, str], bool] = _everything) -> Decimal:
    """What the account's open orders that `include` keeps (all by default) block: summed by the database, by
    instrument and product when `include` chooses."""
    orders = _open_orders(account)
    if include is _everything:
        return _blocked_by(orders)
    rows = list(orders.order_by().values("instrument_id", "product").annotate(blocked=_blocked_sum()))
    instruments = PaperInstrument.objects.in_bulk({row["instrument_id"] for row in rows})
    return sum((row["blocked"] for row in rows if include(instruments[row["instrument_id"]], row["product"])), ZERO)


def funds_compute(account: PaperAccount, positions: Iterable[PaperPosition], *, blocked: Decimal = ZERO,
                  include: Callable[[PaperInstrument, str], bool] = _everything,
                  spots: dict[str, Decimal] | None = None) -> Funds:
    """Funds from the ledger cash and the positions `include` keeps (all of them by default), with `blocked`,
    the margin open orders block (see open_order_margin)."""
    spots = _spots() if spots is None else spots
    span = exposure = mis = realised = unrealised = premium = delivery = ZERO
    for position in positions:
        if not include(position.instrument, position.product):
            continue
        instrument = position.instrument
        figures = position_figures(position, instrument)
        position_span, position_exposure = _margin(position, instrument, spots, figures.quantity)
        if instrument.instrument_type == "EQ" and position.product == "MIS":
            mis += position_span
        else:
            span += position_span
            exposure += position_exposure
        if instrument.is_option:
            premium += position.buy_value - position.sell_value
        elif position.product == "CNC":
            delivery += position.buy_value
        else:  # intraday equity and futures: P&L not yet in cash (futures carry at the last close)
            realised += figures.realised
            unrealised += figures.unrealised
    return Funds(cash=account.cash, span=span, exposure=exposure, mis_margin=mis, m2m_realised=realised,
                 m2m_unrealised=unrealised, option_premium=premium, delivery=delivery, open_orders=blocked)


def _positions(account: PaperAccount) -> list[PaperPosition]:
    return list(PaperPosition.objects.filter(account=account).select_related("instrument"))


def order_reference_price(order: PaperOrder, instrument: PaperInstrument) -> Decimal:
    """The price the RMS values an order at: its limit, or the last price for market and SL-M orders."""
    return order.price if order.order_type in ("LIMIT", "SL") else instrument.last_price


def _apply(account: PaperAccount, position: PaperPosition, instrument: PaperInstrument, side: str, quantity: int,
           value: Decimal) -> None:
    if side == "BUY":
        position.buy_quantity += quantity
        position.buy_value += value
    else:
        position.sell_quantity += quantity
        position.sell_value += value
    if _pays_premium(position, instrument):
        account.cash += -value if side == "BUY" else value


def _others_effect(others, *, instrument: PaperInstrument, side: str, product: str) -> tuple[int, Decimal, Decimal]:
    """Of a queryset of open orders, in one aggregate: (quantity and value, at each one's reference price, of
    those on the same side of the same position, margin the rest block)."""
    alike = Q(instrument=instrument, product=product, transaction_type=side)
    remaining = F("quantity") - F("filled_quantity")
    reference = Case(When(order_type__in=("LIMIT", "SL"), then=F("price")), default=Value(instrument.last_price),
                     output_field=DecimalField(max_digits=14, decimal_places=2))
    money = DecimalField(max_digits=24, decimal_places=6)
    sums = others.aggregate(
        same_way=Sum(remaining, filter=alike),
        same_way_value=Sum(remaining * reference, filter=alike, output_field=money),
        blocked=Sum(F("margin_per_unit") * remaining, filter=~alike, output_field=money))
    return sums["same_way"] or 0, sums["same_way_value"] or ZERO, sums["blocked"] or ZERO


def _book(account: PaperAccount, *, instrument: PaperInstrument, side: str, quantity: int, price: Decimal,
          product: str, others=None) -> tuple[PaperPosition, Decimal, Decimal]:
    """Apply one fill to the account in memory after the RMS's checks: (position, net before, net after).

    Of the account's `others` open orders (a queryset), those on the same
    side of the same position count as filled first (so two exits of one
    position cannot both pass as risk-reducing, and delivery sells share the
    shares); the rest block their margin.
    """
    if side not in ("BUY", "SELL"):
        raise FillRejected(f"Unknown transaction type {side!r}.")
    if product not in PRODUCTS.get(instrument.instrument_type, ()):
        raise FillRejected(f"{product} is not allowed for {instrument.exchange}:{instrument.tradingsymbol}.")
    if not instrument.active:
        raise FillRejected(f"{instrument.tradingsymbol} has expired.")
    if quantity <= 0 or quantity % instrument.lot_size:
        raise FillRejected(f"Quantity must be a positive multiple of the lot size {instrument.lot_size}.")
    positions = _positions(account)
    position = next((p for p in positions if p.instrument_id == instrument.pk and p.product == product), None)
    if position is None:
        position = PaperPosition(account=account, instrument=instrument, product=product)
        positions.append(position)
    position.instrument = instrument
    same_way, blocked = 0, ZERO
    if others is not None:
        same_way, value, blocked = _others_effect(others, instrument=instrument, side=side, product=product)
        if same_way:
            _apply(account, position, instrument, side, same_way, value)
    if product == "CNC" and side == "SELL":
        held = PaperHolding.objects.filter(account=account, instrument=instrument).values_list("quantity", flat=True).first() or 0
        if quantity > held + position.quantity:
            raise FillRejected("Insufficient holdings to sell." if not same_way else
                               f"Insufficient holdings to sell: open orders already sell {same_way}.")
    spots = _spots()
    before = funds_compute(account, positions, blocked=blocked, spots=spots).net
    _apply(account, position, instrument, side, quantity, price * quantity)
    return position, before, funds_compute(account, positions, blocked=blocked, spots=spots).net


@transaction.atomic
def ledger_fill(*, account_id: str, instrument: PaperInstrument, side: str, quantity: int, price: Decimal,
                product: str, check_funds: bool = True) -> PaperPosition:
    """Book one fill into the account: position and cash, after the checks a broker's RMS would make first."""
    account = PaperAccount.objects.select_for_update().get(account_id=account_id)
    position, before, after = _book(account, instrument=instrument, side=side, quantity=quantity, price=price,
                                    product=product)
    if check_funds and after < 0 and after < before:
        raise FillRejected("Insufficient margin")
    position.save()
    account.save(update_fields=["cash"])
    logger.info("paper_fill", extra={"account_id": account_id, "tradingsymbol": instrument.tradingsymbol,
                                     "side": side, "quantity": quantity, "price": str(price), "product": product})
    return position


@transaction.atomic
def ledger_check(*, account_id: str, instrument: PaperInstrument, side: str, quantity: int, price: Decimal,
                 product: str, excluding_order: int | None = None, already_blocked: Decimal = ZERO) -> Decimal:
    """Would an order for this fill pass the RMS (product, lot size, holdings, funds) beside the account's other
    open orders? FillRejected says why not; else the margin it blocks while open (zero if it reduces risk).

    For a modification, `excluding_order` is the order itself and
    `already_blocked` what it blocks now: a change that blocks no more always
    passes. The account row is locked until the caller's transaction ends, so
    two orders never both take the same free funds.
    """
    account = PaperAccount.objects.select_for_update().get(account_id=account_id)
    _, before, after = _book(account, instrument=instrument, side=side, quantity=quantity, price=price,
                             product=product, others=_open_orders(account).exclude(pk=excluding_order))
    if after < 0 and after < before - already_blocked:
        raise FillRejected("Insufficient margin")
    return max(before - after, ZERO)


def ledger_square_off_mis(*, moment: datetime) -> int:
    """Close every open intraday (MIS) position at the last price, as brokers do at 15:20 IST."""
    closed = 0
    for position in PaperPosition.objects.filter(product="MIS").select_related("instrument", "account"):
        net = position.quantity
        if not net:
            continue
        ledger_fill(account_id=position.account.account_id, instrument=position.instrument,
                    side="SELL" if net > 0 else "BUY", quantity=abs(net), price=position.instrument.last_price,
                    product="MIS", check_funds=False)
        closed += 1
    if closed:
        logger.info("paper_mis_squared_off", extra={"positions": closed, "at": moment.isoformat()})
    return closed


def _settle_position(position: PaperPosition, day: date) -> None:
    """Carry one position into the session of `day`, settling what is due."""
    instrument, account = position.instrument, position.account
    close = instrument.close_price
    figures = position_figures(position, instrument, last_price=close)
    net = figures.quantity
    expired = instrument.expiry is not None and instrument.expiry < day
    if expired:
        account.cash += figures.pnl if instrument.instrument_type == "FUT" else net * close
        position.delete()
    elif position.product == "CNC":
        if net:
            holding, _ = PaperHolding.objects.get_or_create(
                account=account, instrument=instrument, defaults={"quantity": 0, "average_price": ZERO})
            if net > 0:
                cost = holding.quantity * holding.average_price + net * figures.average_price
                holding.quantity += net
                holding.average_price = cost / holding.quantity
            else:
                holding.quantity += net
            if holding.quantity > 0:
                holding.save()
            else:
                holding.delete()
        position.delete()
    elif position.product == "MIS" or not net:
        if not _pays_premium(position, instrument):
            account.cash += figures.pnl
        position.delete()
    else:
        if not instrument.is_option:  # futures: marked to the close, the carry price becomes the close
            account.cash += figures.pnl
            position.overnight_price = close
        else:
            position.overnight_price = figures.average_price
        position.overnight_quantity = net
        position.buy_quantity = position.sell_quantity = 0
        position.buy_value = position.sell_value = ZERO
        position.save()
    account.save(update_fields=["cash"])


def ledger_settle(*, day: date) -> int:
    """At a session's open: T+1 delivery into holdings, intraday and futures P&L to cash, expiries settled."""
    positions = list(PaperPosition.objects.select_related("instrument", "account"))
    for position in positions:
        _settle_position(position, day)
    if positions:
        logger.info("paper_positions_settled", extra={"positions": len(positions), "day": day.isoformat()})
    return len(positions)


def ledger_on_market_event(kind: str, day: date, moment: datetime) -> None:
    """What the exchange's accounts do at each session event."""
    if kind == "open":
        ledger_settle(day=day)
    elif kind == "square_off":
        ledger_square_off_mis(moment=moment)
