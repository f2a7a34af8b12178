"""What traders read off an option chain, computed from one bucket's rows: ATM, PCR, max pain, straddle, OI change.

The rules every option endpoint shares, enforced here:

- **ATM** is the listed strike nearest the expiry's forward (the `future_price` the row's greeks were priced
  on: the listed future of that expiry, else put-call parity), or the spot where no forward is stored; a tie
  goes to the lower strike. The forward, not the spot, because that is where a call and a put of one strike
  are worth the same, so ATM IVs and the ATM straddle are the chain's own.
- **Strike step** is the most common gap between an expiry's adjacent listed strikes (50 for NIFTY, 100 for
  BANKNIFTY); ITMk and OTMk are k steps from ATM: below it for calls, above it for puts.
- **PCR** is put OI over call OI (or volume), null when the calls have none.
- **Max pain** is, over every listed strike K*, the one where writers pay least at expiry:
  sum over strikes K of call_oi(K) * max(K* - K, 0) + put_oi(K) * max(K - K*, 0); a tie goes to the lower.
- **OI change** is a contract's OI now minus its OI at the session's first bucket; null for a contract not
  stored in that bucket (never a guessed zero).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np

CALL, PUT = "CE", "PE"
SIDES = {"call": CALL, "put": PUT}


@dataclass
class ExpiryChain:
    """One expiry's contracts at one bucket: strike -> {CE: row, PE: row}."""

    expiry: date
    forward: Decimal | None = None
    spot: Decimal | None = None
    strikes: dict[Decimal, dict[str, dict]] = field(default_factory=dict)

    def contract(self, strike: Decimal | None, side: str) -> dict | None:
        return self.strikes.get(strike, {}).get(side) if strike is not None else None

    def atm_strike(self) -> Decimal | None:
        reference = self.forward if self.forward is not None else self.spot
        if reference is None or not self.strikes:
            return None
        return min(self.strikes, key=lambda strike: (abs(strike - reference), strike))


def chains_build(rows: list[dict]) -> dict[date, ExpiryChain]:
    """Rows of one bucket grouped into a chain per expiry, nearest expiry first."""
    chains: dict[date, ExpiryChain] = {}
    for row in rows:
        chain = chains.get(row["expiry"])
        if chain is None:
            chain = chains[row["expiry"]] = ExpiryChain(expiry=row["expiry"])
        if chain.forward is None and row["future_price"] is not None:
            chain.forward = row["future_price"]
        if chain.spot is None and row["underlying_price"] is not None:
            chain.spot = row["underlying_price"]
        chain.strikes.setdefault(row["strike"], {})[row["option_type"]] = row
    for chain in chains.values():
        chain.strikes = dict(sorted(chain.strikes.items()))
    return dict(sorted(chains.items()))


def strike_step(strikes: list[Decimal]) -> Decimal | None:
    """The most common gap between adjacent listed strikes (the smaller on a tie); None under two strikes."""
    gaps = Counter(high - low for low, high in zip(strikes, strikes[1:]) if high > low)
    if not gaps:
        return None
    return min(gaps, key=lambda gap: (-gaps[gap], gap))


def moneyness_strikes(*, atm: Decimal, step: Decimal, depth: int, side: str) -> list[tuple[str, Decimal]]:
    """(label, strike) for ATM, ITM1..ITMn, OTM1..OTMn: a call's ITM strikes are below ATM, a put's above."""
    itm_sign = -1 if side == CALL else 1
    labels = [("ATM", atm)]
    labels += [(f"ITM{k}", atm + itm_sign * k * step) for k in range(1, depth + 1)]
    labels += [(f"OTM{k}", atm - itm_sign * k * step) for k in range(1, depth + 1)]
    return labels


def ratio(numerator: int | None, denominator: int | None) -> float | None:
    """numerator / denominator, null when the denominator is zero or either is unknown."""
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def chain_pcr(chain: ExpiryChain, *, of: str = "oi") -> float | None:
    """Put-call ratio of the whole expiry by OI (or volume)."""
    puts = sum(sides[PUT][of] for sides in chain.strikes.values() if PUT in sides)
    calls = sum(sides[CALL][of] for sides in chain.strikes.values() if CALL in sides)
    return ratio(puts, calls)


def chain_max_pain(chain: ExpiryChain) -> Decimal | None:
    """The listed strike where option writers' payout at expiry is least (see the module's rule)."""
    strikes = list(chain.strikes)
    if not strikes:
        return None
    levels = np.array([float(strike) for strike in strikes])
    call_oi = np.array([float(sides[CALL]["oi"]) if CALL in sides else 0.0 for sides in chain.strikes.values()])
    put_oi = np.array([float(sides[PUT]["oi"]) if PUT in sides else 0.0 for sides in chain.strikes.values()])
    # Row i: settlement at strikes[i]; column j: the contracts of strikes[j].
    settle = levels[:, None] - levels[None, :]
    payout = (np.clip(settle, 0, None) * call_oi).sum(axis=1) + (np.clip(-settle, 0, None) * put_oi).sum(axis=1)
    return strikes[int(np.argmin(payout))]  # argmin takes the first, the lower strike, on a tie


def chain_oi_changes(chain: ExpiryChain, opening: dict[tuple, int]) -> dict[tuple[Decimal, str], int | None]:
    """(strike, side) -> OI now minus OI at the session's first bucket (`opening`, keyed as option_oi_at's)."""
    changes = {}
    for strike, sides in chain.strikes.items():
        for side, row in sides.items():
            before = opening.get((chain.expiry, strike, side))
            changes[(strike, side)] = None if before is None else row["oi"] - before
    return changes


def strike_of_most(values: dict[Decimal, int | None]) -> Decimal | None:
    """The strike with the largest known value (the lower on a tie), None when none is known."""
    known = [(value, strike) for strike, value in values.items() if value is not None]
    if not known:
        return None
    return min(known, key=lambda item: (-item[0], item[1]))[1]


def straddle_premium(chain: ExpiryChain, strike: Decimal | None) -> tuple[Decimal | None, Decimal | None,
                                                                        Decimal | None]:
    """(call LTP, put LTP, their sum) at `strike`; the sum is null unless both are quoted."""
    call, put = chain.contract(strike, CALL), chain.contract(strike, PUT)
    call_ltp = call["ltp"] if call else None
    put_ltp = put["ltp"] if put else None
    return call_ltp, put_ltp, (call_ltp + put_ltp if call_ltp is not None and put_ltp is not None else None)


def atm_iv(chain: ExpiryChain, strike: Decimal | None) -> float | None:
    """The mean of the ATM call's and put's IV, or the one that exists."""
    ivs = [row["iv"] for row in (chain.contract(strike, CALL), chain.contract(strike, PUT))
           if row is not None and row["iv"] is not None]
    return sum(ivs) / len(ivs) if ivs else None
