"""Kotak Neo holdings, positions, funds and limits to BudhiTrade's portfolio types."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from brokers.adapters.kotak_neo.mapping.answers import rows
from brokers.adapters.kotak_neo.mapping.codes import (
    exchange_from_wire,
    flag,
    money,
    optional_money,
    optional_quantity,
    product_from_wire,
    quantity,
    text,
)
from brokers.adapters.wiremap import WireMap
from brokers.domain import (
    Broker,
    FundsSegment,
    Holding,
    Limits,
    LimitsExchange,
    LimitsProduct,
    LimitsSegment,
    Position,
    SegmentFunds,
)

PositionMetrics = Callable[[Mapping[str, Any], Mapping[str, Any] | None, float | None], Mapping[str, Any]]
# A position's instrument as Kotak names it: (exchange segment, token).
WireInstrument = tuple[str, str]


def holdings_from_wire(payload: Any) -> list[Holding]:
    """GET portfolio/v1/holdings.

    Neo values a holding itself: `mktValue` (quantity x `closingPrice`, so
    closingPrice is the price it values at) and `holdingCost`; pnl is their
    difference. Neo lists a share held on both NSE and BSE twice, the BSE
    row marked `isAlternateScrip`: that is one holding, so an alternate row
    is dropped where its primary row is listed. The answer carries no
    previous close (close_price 0, day_change None) and no ISIN.
    `instrument_token` is `exchangeIdentifier`, the exchange token that
    positions (`tok`) and quotes name the instrument by.
    """
    listed = rows(payload)
    primary = {_holding_key(row) for row in listed if not flag(row.get("isAlternateScrip"))}
    holdings = []
    for row in listed:
        if flag(row.get("isAlternateScrip")) and _holding_key(row) in primary:
            continue
        market_value = optional_money(row.get("mktValue"))
        holding_cost = optional_money(row.get("holdingCost"))
        close_price = money(row.get("prevDayLtp"))
        last_price = optional_money(row.get("closingPrice"))
        holdings.append(
            Holding(
                tradingsymbol=row.get("displaySymbol") or row.get("symbol") or "",
                exchange=exchange_from_wire(row.get("exchangeSegment")),
                isin="",
                quantity=quantity(row.get("quantity")),
                average_price=money(row.get("averagePrice")),
                last_price=last_price,
                close_price=close_price,
                pnl=market_value - holding_cost if market_value is not None and holding_cost is not None else None,
                day_change=last_price - close_price if last_price is not None and close_price else None,
                product="CNC",
                sellable_quantity=optional_quantity(row.get("sellableQuantity")),
                market_value=market_value,
                holding_cost=holding_cost,
                instrument_token=text(row.get("exchangeIdentifier")),
            )
        )
    return holdings


def _holding_key(row: Mapping[str, Any]) -> str:
    return str(row.get("symbol") or row.get("displaySymbol") or "")


def _is_derivative(row: Mapping[str, Any]) -> bool:
    return str(row.get("exSeg", "")).endswith("_fo")


def positions_need_holdings(payload: Any) -> bool:
    """Whether a row carries equity bought on earlier days, whose cost only holdings know."""
    return any(
        not _is_derivative(row) and quantity(row.get("cfBuyQty")) != quantity(row.get("cfSellQty"))
        for row in rows(payload)
    )


def position_instruments(payload: Any) -> list[WireInstrument]:
    """Each position's (segment, token), once: what positions must be quoted for (Kotak sends no LTP)."""
    seen: dict[WireInstrument, None] = {}
    for row in rows(payload):
        segment, token = text(row.get("exSeg")), text(row.get("tok"))
        if segment and token:
            seen.setdefault((segment, token))
    return list(seen)


def _price_factor(row: Mapping[str, Any]) -> Decimal:
    """Neo's amounts are in price units x lot multiplier; this turns them into rupees per unit."""

    def part(key: str) -> Decimal:
        value = money(row.get(key))
        return value if value else Decimal("1")

    return part("multiplier") * (part("genNum") / part("genDen")) * (part("prcNum") / part("prcDen"))


def _average(amount: Decimal, units: int, factor: Decimal, precision: int) -> Decimal:
    """Amount per unit, rounded to the row's own `precision` as the SDK rounds its average."""
    if not units:
        return Decimal("0")
    return (amount / (units * factor)).quantize(Decimal(1).scaleb(-precision))


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def positions_from_wire(
    payload: Any,
    *,
    metrics: PositionMetrics,
    prices: Mapping[WireInstrument, Decimal],
    holdings: Any = None,
) -> list[Position]:
    """GET portfolio/v2/positions: raw fills-by-day rows to net positions, valued at `prices`.

    Kotak's positions carry no last price: `prices` are the quoted LTPs by
    (segment, token). Net quantity, average price, P&L and MTM come from the
    SDK's own calculation (`metrics`, i.e. KotakNeoClient.position_metrics),
    which values equity carried from earlier days at its holdings cost, so
    `holdings` (a holdings answer) is needed when positions_need_holdings().
    `mtmPnl` values every carried leg at the previous close, which makes it
    the day's P&L: both m2m and day_pnl. `realised` is the P&L of the
    quantity bought and sold back; `unrealised` the rest of pnl.

    A row without a price keeps its quantities, average and realised P&L;
    last_price, pnl, m2m, day_pnl and unrealised are None (a flat position
    needs no price: its P&L is all realised). Carried equity with no
    holdings entry has no known cost: its average and realised P&L are at
    the previous close, and pnl is None.

    `value` is Kite's convention, sell amount minus buy amount. Neo gives no
    close price here: close_price is the carried-forward amount per unit
    (previous close) where the row has carried quantity, else 0.
    `multiplier` is Neo's price factor (multiplier x genNum/genDen x prcNum/prcDen).
    """
    by_identifier = {str(row.get("exchangeIdentifier")): row for row in rows(holdings)}
    positions = []
    for row in rows(payload):
        factor = _price_factor(row)
        precision = quantity(row.get("precision")) or 2
        cf_buy_qty, cf_sell_qty = quantity(row.get("cfBuyQty")), quantity(row.get("cfSellQty"))
        buy_qty = cf_buy_qty + quantity(row.get("flBuyQty"))
        sell_qty = cf_sell_qty + quantity(row.get("flSellQty"))
        overnight = cf_buy_qty - cf_sell_qty
        if overnight > 0:
            close_price = _average(money(row.get("cfBuyAmt")), cf_buy_qty, factor, precision)
        elif overnight < 0:
            close_price = _average(money(row.get("cfSellAmt")), cf_sell_qty, factor, precision)
        else:
            close_price = Decimal("0")
        holding = by_identifier.get(text(row.get("tok")))
        no_cost = bool(overnight) and not _is_derivative(row) and holding is None
        if no_cost:
            holding = {"averagePrice": str(close_price)}  # the previous close stands in for the unknown cost
        price = prices.get((text(row.get("exSeg")), text(row.get("tok"))))
        net = buy_qty - sell_qty
        ltp = float(price) if price is not None else (0.0 if net == 0 else None)
        computed = metrics(row, holding, ltp)
        buy_amount = money(row.get("buyAmt")) + money(row.get("cfBuyAmt"))
        sell_amount = money(row.get("sellAmt")) + money(row.get("cfSellAmt"))
        realised = _realised(row, holding, factor, buy_qty, sell_qty, precision)
        pnl = None if no_cost else _decimal(computed.get("positionPnl"))
        m2m = _decimal(computed.get("mtmPnl"))
        positions.append(
            Position(
                tradingsymbol=row.get("trdSym") or "",
                exchange=exchange_from_wire(row.get("exSeg")),
                product=product_from_wire(row.get("prod")),
                quantity=int(computed["netQty"]),
                average_price=money(computed.get("averagePrice")),
                last_price=price,
                close_price=close_price,
                pnl=pnl,
                m2m=m2m,
                day_pnl=m2m,
                value=sell_amount - buy_amount,
                buy_quantity=buy_qty,
                buy_price=_average(buy_amount, buy_qty, factor, precision),
                sell_quantity=sell_qty,
                sell_price=_average(sell_amount, sell_qty, factor, precision),
                overnight_quantity=overnight,
                instrument_token=text(row.get("tok")),
                multiplier=factor,
                realised=realised,
                unrealised=pnl - realised if pnl is not None else None,
            )
        )
    return positions


def _realised(
    row: Mapping[str, Any], holding: Mapping[str, Any] | None, factor: Decimal, buy_qty: int, sell_qty: int,
    precision: int,
) -> Decimal:
    """P&L of the quantity bought and sold back, each side at its average amount per unit.

    Carried equity is at its holdings cost (as the SDK values it), carried
    derivatives at the previous close (the only cost Kotak gives).
    """
    closed = min(buy_qty, sell_qty)
    if not closed:
        return Decimal("0")
    carried = quantity(row.get("cfBuyQty")) - quantity(row.get("cfSellQty"))
    cf_buy_amount, cf_sell_amount = money(row.get("cfBuyAmt")), money(row.get("cfSellAmt"))
    if carried and not _is_derivative(row) and holding is not None:
        cost = money(holding.get("averagePrice")) * factor * abs(carried)
        cf_buy_amount, cf_sell_amount = (cost, Decimal("0")) if carried > 0 else (Decimal("0"), cost)
    buy_amount = money(row.get("buyAmt")) + cf_buy_amount
    sell_amount = money(row.get("sellAmt")) + cf_sell_amount
    per_unit = sell_amount / sell_qty - buy_amount / buy_qty
    return (per_unit * closed).quantize(Decimal(1).scaleb(-precision))


def funds_from_wire(payload: Mapping[str, Any]) -> list[SegmentFunds]:
    """POST quick/user/limits (seg=ALL): one equity SegmentFunds, Neo has no commodity split here.

    Field choices, from the limits sample: `Net` is what is free to trade
    (it equals CollateralValue - MarginUsed), so net and live_balance;
    `CollateralValue` is the whole limit, cash and pledged collateral
    together, and Neo sends no separate ledger-cash figure, so it is cash;
    `Collateral`, `AdhocMargin`, `NotionalCash` and `RmsPayInAmt` are the
    named parts. Utilised: `MarginUsed` is the total blocked (debits); the
    `...Prsnt` totals give span, exposure, premium and MTM across segments.
    """
    return [
        SegmentFunds(
            segment=FundsSegment.EQUITY,
            enabled=True,
            net=money(payload.get("Net")),
            available={
                "cash": money(payload.get("CollateralValue")),
                "intraday_payin": money(payload.get("RmsPayInAmt")),
                "collateral": money(payload.get("Collateral")),
                "live_balance": money(payload.get("Net")),
                "adhoc_margin": money(payload.get("AdhocMargin")),
                "notional_cash": money(payload.get("NotionalCash")),
            },
            utilised={
                "debits": money(payload.get("MarginUsed")),
                "exposure": money(payload.get("ExposureMarginPrsnt")),
                "span": money(payload.get("SpanMarginPrsnt")),
                "option_premium": money(payload.get("PremiumPrsnt")),
                "m2m_realised": money(payload.get("RealizedMtomPrsnt")),
                "m2m_unrealised": money(payload.get("UnrealizedMtomPrsnt")),
                "delivery": money(payload.get("DeliveryMarginPresent")),
                "payout": money(payload.get("RmsPayOutAmt")),
            },
        )
    ]


# quick/user/limits' filters (jData seg, exch, prod) take BudhiTrade's own
# values; the maps exist to refuse anything else.
LIMITS_SEGMENTS = WireMap(Broker.KOTAK_NEO, "limits segment", {value: value for value in LimitsSegment.values})
LIMITS_EXCHANGES = WireMap(Broker.KOTAK_NEO, "limits exchange", {value: value for value in LimitsExchange.values})
LIMITS_PRODUCTS = WireMap(Broker.KOTAK_NEO, "limits product", {value: value for value in LimitsProduct.values})


def limits_filters_to_wire(
    *, segment: LimitsSegment, exchange: LimitsExchange, product: LimitsProduct
) -> dict[str, str]:
    """The jData body of POST quick/user/limits for one filter."""
    return {
        "seg": LIMITS_SEGMENTS.to_wire(segment),
        "exch": LIMITS_EXCHANGES.to_wire(exchange),
        "prod": LIMITS_PRODUCTS.to_wire(product),
    }


def limits_from_wire(
    payload: Mapping[str, Any], *, segment: LimitsSegment, exchange: LimitsExchange, product: LimitsProduct
) -> Limits:
    """POST quick/user/limits for a filter: Neo answers that filter itself, read with funds_from_wire's field choices.

    net is `Net`, cash `CollateralValue`, collateral `Collateral` and
    margin_used `MarginUsed`; the breakdown holds the other named amounts.
    """
    (funds,) = funds_from_wire(payload)
    return Limits.from_funds(funds, segment=segment, exchange=exchange, product=product)
