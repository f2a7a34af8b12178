"""OptionSnapshot rows for tests, written directly (the capture job is tested on its own).

Prices come from the one Black-76 (brokers.options) at a volatility the test chooses, and the greeks stored
are Black-76's at that volatility, so every IV, greek and premium an endpoint answers is known in advance.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import numpy as np

from analytics.models import OptionSnapshot
from brokers.calendar import IST
from brokers.options import black76_greeks, black76_price, years_to_expiry

RATE = 0.0  # the forward is then the spot's carry-free value, and parity holds on the stored premiums
EXPIRY = date(2026, 12, 1)  # a Tuesday
NEXT_EXPIRY = date(2026, 12, 8)


def ist(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST)


def option_symbol(underlying: str, expiry: date, strike, side: str) -> str:
    return f"{underlying}{expiry:%y%m%d}{int(strike)}{side}"


def option_chain_create(*, bucket: datetime, strikes: list[int], forward: float, spot: float | None = None,
                        expiry: date = EXPIRY, underlying: str = "NIFTY",
                        vol: float | Callable[[int], float] = 0.15,
                        oi: dict[tuple[int, str], int] | Callable[[int, str], int] | None = None,
                        volume: dict[tuple[int, str], int] | Callable[[int, str], int] | None = None,
                        sides: tuple[str, ...] = ("CE", "PE"), save: bool = True) -> list[OptionSnapshot]:
    """One bucket of one expiry: a call and a put per strike priced by Black-76 at `vol` (a number or per strike).

    `oi` and `volume` map (strike, side) to contracts (a dict or a function); missing keys are 0.
    """
    def amount(source, strike, side):
        if source is None:
            return 0
        return source(strike, side) if callable(source) else source.get((strike, side), 0)

    years = years_to_expiry(expiry, bucket)
    rows = []
    for side in sides:
        vols = np.array([vol(strike) if callable(vol) else vol for strike in strikes])
        is_call = side == "CE"
        premiums = black76_price(future=forward, strike=np.array(strikes, dtype=float), years=years, rate=RATE,
                                 vol=vols, is_call=is_call)
        greeks = black76_greeks(future=forward, strike=np.array(strikes, dtype=float), years=years, rate=RATE,
                                vol=vols, is_call=is_call)
        for index, strike in enumerate(strikes):
            ltp = Decimal(str(round(float(premiums[index]), 2)))
            rows.append(OptionSnapshot(
                underlying=underlying, expiry=expiry, strike=Decimal(strike), option_type=side, bucket=bucket,
                tradingsymbol=option_symbol(underlying, expiry, strike, side), ltp=ltp, bid=ltp, ask=ltp,
                volume=amount(volume, strike, side), oi=amount(oi, strike, side),
                underlying_price=Decimal(str(spot if spot is not None else forward)),
                future_price=Decimal(str(forward)), iv=float(vols[index]),
                delta=float(greeks.delta[index]), gamma=float(greeks.gamma[index]),
                theta=float(greeks.theta[index]), vega=float(greeks.vega[index]), source="paper"))
    if save:
        OptionSnapshot.objects.bulk_create(rows)
    return rows


def premium(*, forward: float, strike: int, bucket: datetime, side: str, vol: float = 0.15,
            expiry: date = EXPIRY) -> Decimal:
    """The premium option_chain_create stores for one contract."""
    price = black76_price(future=forward, strike=float(strike), years=years_to_expiry(expiry, bucket), rate=RATE,
                          vol=vol, is_call=side == "CE")
    return Decimal(str(round(float(price), 2)))


# --- the small chain the endpoint tests read: every answer below is worked out by hand --------------------

DAY, PREVIOUS_DAY = date(2026, 11, 30), date(2026, 11, 27)  # a Monday, and the Friday before it
STRIKES = [24900, 24950, 25000, 25050, 25100]
FORWARD, SPOT = 25060.0, 25040.0  # ATM 25050; basis 20
CALL_OI = {24900: 100, 24950: 200, 25000: 500, 25050: 900, 25100: 1200}
PUT_OI = {24900: 1000, 24950: 800, 25000: 600, 25050: 300, 25100: 100}
# At the session's first bucket (09:15): the 25050 call and the 24950 put have since gained the most OI.
OPENING_CALL_OI = {24900: 50, 24950: 150, 25000: 450, 25050: 300, 25100: 1150}
OPENING_PUT_OI = {24900: 950, 24950: 200, 25000: 550, 25050: 250, 25100: 50}
CALL_VOLUME = {24900: 10, 24950: 20, 25000: 30, 25050: 40, 25100: 50}
PUT_VOLUME = {24900: 5, 24950: 5, 25000: 5, 25050: 5, 25100: 5}


def smile(strike: int) -> float:
    """The chain's volatility: 15% at 25050, a point more every 100 away."""
    return 0.15 + abs(strike - 25050) / 10000


def _by_side(calls: dict, puts: dict):
    return lambda strike, side: (calls if side == "CE" else puts)[strike]


def known_chain_create() -> dict:
    """The near expiry at 09:15 and 10:00 on DAY (and a Friday bucket with other OI); a next expiry at 10:00."""
    friday = ist(PREVIOUS_DAY, 15, 29)
    option_chain_create(bucket=friday, strikes=STRIKES, forward=24800.0, spot=24790.0, vol=0.2,
                        oi=lambda strike, side: 5)
    opening, now = ist(DAY, 9, 15), ist(DAY, 10, 0)
    option_chain_create(bucket=opening, strikes=STRIKES, forward=25000.0, spot=24985.0, vol=smile,
                        oi=_by_side(OPENING_CALL_OI, OPENING_PUT_OI))
    option_chain_create(bucket=now, strikes=STRIKES, forward=FORWARD, spot=SPOT, vol=smile,
                        oi=_by_side(CALL_OI, PUT_OI), volume=_by_side(CALL_VOLUME, PUT_VOLUME))
    option_chain_create(bucket=now, strikes=STRIKES, forward=25090.0, spot=SPOT, vol=0.18, expiry=NEXT_EXPIRY,
                        oi=lambda strike, side: 10)
    return {"friday": friday, "opening": opening, "now": now}
