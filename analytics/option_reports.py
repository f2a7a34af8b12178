"""The option endpoints' answers, assembled from the selectors' rows by chain.py's rules.

Every answer is as of the data: the underlying's latest stored bucket (or the one `bucket_time` names), not
the wall clock, so an evening or a weekend still shows the last session, and `hours` counts back from that
bucket. An underlying with no snapshots, or an expiry not stored at the bucket answered, is a 404 saying so.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from analytics import chain as rules
from analytics import selectors
from analytics.timeframes import TIMEFRAMES, from_unix, timeframe_start, unix_seconds
from budhitrade.errors import NotFound

GREEKS = ("iv", "delta", "gamma", "theta", "vega")


def number(value) -> float | int | None:
    """A Decimal as a JSON number: whole strikes as integers (24500), the rest as floats."""
    if value is None:
        return None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return float(value)


def price(value) -> float | None:
    """Rupees as a JSON number."""
    return None if value is None else float(value)


def _latest(underlying: str) -> datetime:
    latest = selectors.option_latest_bucket(underlying=underlying)
    if latest is None:
        raise NotFound(f"No option snapshots for {underlying} yet.")
    return latest


def _bucket(underlying: str, *, timeframe: str, bucket_time: int | None) -> tuple[datetime, int]:
    """(the one-minute bucket answered, the timeframe bucket's start in Unix seconds)."""
    seconds = TIMEFRAMES[timeframe]
    if bucket_time is None:
        latest = _latest(underlying)
        return latest, timeframe_start(latest, seconds)
    start = bucket_time // seconds * seconds
    bucket = selectors.option_close_bucket(underlying=underlying, start=from_unix(start), seconds=seconds)
    if bucket is None:
        _latest(underlying)  # no snapshots at all says so first
        raise NotFound(f"No {underlying} option snapshots in the {timeframe} bucket starting at {start}.")
    return bucket, start


def _expiries(underlying: str, bucket: datetime, asked: list[date]) -> list[date]:
    """The expiries asked for, each stored at `bucket`; the nearest stored one when none is asked for."""
    stored = selectors.option_expiries_at(underlying=underlying, bucket=bucket)
    if not asked:
        return stored[:1]
    missing = [expiry.isoformat() for expiry in asked if expiry not in stored]
    if missing:
        raise NotFound(f"No {underlying} options expiring {', '.join(missing)} at {bucket:%Y-%m-%d %H:%M} UTC; "
                       f"stored then: {', '.join(expiry.isoformat() for expiry in stored)}.")
    return asked


def _opening_oi(underlying: str, bucket: datetime, expiries: list[date]) -> dict[tuple, int]:
    first = selectors.option_session_first_bucket(underlying=underlying, bucket=bucket)
    return selectors.option_oi_at(underlying=underlying, bucket=first, expiries=expiries) if first else {}


def _side(row: dict | None, field: str) -> int | None:
    return row[field] if row is not None else None


def strike_distribution(*, underlying: str, timeframe: str, indicator: str, option_side: str,
                        expiries: list[date], bucket_time: int | None) -> dict:
    """CONTRACT's strike distribution: every listed strike of each expiry at one bucket."""
    bucket, label = _bucket(underlying, timeframe=timeframe, bucket_time=bucket_time)
    expiries = _expiries(underlying, bucket, expiries)
    chains = rules.chains_build(selectors.option_chain_rows(underlying=underlying, bucket=bucket, expiries=expiries))
    changes = {}
    if indicator == "oi_change":
        opening = _opening_oi(underlying, bucket, expiries)
        changes = {expiry: rules.chain_oi_changes(chain, opening) for expiry, chain in chains.items()}
    shown = {"call": (rules.CALL,), "put": (rules.PUT,), "both": (rules.CALL, rules.PUT)}[option_side]

    def value(chain, strike, side):
        row = chain.contract(strike, side)
        if side not in shown or row is None or indicator == "pcr":
            return None
        if indicator == "oi":
            return row["oi"]
        if indicator == "oi_change":
            return changes[chain.expiry][(strike, side)]
        return row[indicator]

    series = []
    for expiry in expiries:
        chain = chains[expiry]
        points = []
        for strike, sides in chain.strikes.items():
            call, put = sides.get(rules.CALL), sides.get(rules.PUT)
            points.append({
                "strike": number(strike), "call": value(chain, strike, rules.CALL),
                "put": value(chain, strike, rules.PUT),
                "value": rules.ratio(_side(put, "oi"), _side(call, "oi")) if indicator == "pcr" else None,
                "call_oi": _side(call, "oi"), "put_oi": _side(put, "oi"),
                "call_volume": _side(call, "volume"), "put_volume": _side(put, "volume")})
        series.append({"expiry": expiry, "future_price": price(chain.forward),
                       "atm_strike": number(chain.atm_strike()), "points": points})
    spot = next((chain.spot for chain in chains.values() if chain.spot is not None), None)
    return {"status": "success", "symbol": underlying, "timeframe": timeframe, "indicator": indicator,
            "option_side": option_side, "bucket_time": label, "underlying_price": price(spot), "series": series}


def chain_summary(*, underlying: str, expiry: date | None) -> dict:
    """Spot, forward, ATM, PCR, max pain, OI walls and basis of one expiry at the latest bucket."""
    bucket = _latest(underlying)
    (expiry,) = _expiries(underlying, bucket, [expiry] if expiry else [])
    chain = rules.chains_build(selectors.option_chain_rows(underlying=underlying, bucket=bucket,
                                                           expiries=[expiry]))[expiry]
    changes = rules.chain_oi_changes(chain, _opening_oi(underlying, bucket, [expiry]))
    atm = chain.atm_strike()
    _call, _put, straddle = rules.straddle_premium(chain, atm)

    def most(field: str, side: str) -> Decimal | None:
        return rules.strike_of_most({strike: sides[side][field] for strike, sides in chain.strikes.items()
                                     if side in sides})

    def most_change(side: str) -> Decimal | None:
        return rules.strike_of_most({strike: change for (strike, of), change in changes.items() if of == side})

    basis = chain.forward - chain.spot if chain.forward is not None and chain.spot is not None else None
    return {"status": "success", "symbol": underlying, "expiry": expiry, "bucket_time": unix_seconds(bucket),
            "underlying_price": price(chain.spot), "future_price": price(chain.forward),
            "atm_strike": number(atm), "atm_iv": rules.atm_iv(chain, atm), "atm_straddle_premium": price(straddle),
            "pcr_oi": rules.chain_pcr(chain, of="oi"), "pcr_volume": rules.chain_pcr(chain, of="volume"),
            "max_pain": number(rules.chain_max_pain(chain)),
            "max_call_oi_strike": number(most("oi", rules.CALL)), "max_put_oi_strike": number(most("oi", rules.PUT)),
            "max_call_oi_change_strike": number(most_change(rules.CALL)),
            "max_put_oi_change_strike": number(most_change(rules.PUT)), "basis": price(basis)}


def _window_chains(underlying: str, *, timeframe: str, hours: int, expiries: list[date], depth: int,
                   sides: tuple[str, ...] = (rules.CALL, rules.PUT)):
    """(expiries, steps, [(label, {expiry: chain near the forward})] oldest first) for a window's closes."""
    latest = _latest(underlying)
    expiries = _expiries(underlying, latest, expiries)
    seconds = TIMEFRAMES[timeframe]
    closes = selectors.option_window_closes(underlying=underlying, start=latest - timedelta(hours=hours),
                                            end=latest, seconds=seconds)
    listed = selectors.option_strikes_at(underlying=underlying, bucket=latest, expiries=expiries)
    steps = {expiry: rules.strike_step(strikes) for expiry, strikes in listed.items()}
    # Wide enough to hold the strike nearest the forward and `depth` steps either side of it.
    spans = {expiry: (depth + 1) * (step or Decimal(0)) for expiry, step in steps.items()}
    rows = selectors.option_rows_near_forward(underlying=underlying, buckets=closes, spans=spans, sides=sides)
    by_bucket: dict[datetime, list[dict]] = {}
    for row in rows:
        by_bucket.setdefault(row["bucket"], []).append(row)
    window = [(timeframe_start(close, seconds), rules.chains_build(by_bucket[close]))
              for close in closes if close in by_bucket]
    return expiries, steps, window


def moneyness_series(*, underlying: str, timeframe: str, indicator: str, option_side: str, hours: int,
                     expiries: list[date], depth: int) -> dict:
    """Seed 004's moneyness series: ATM, ITM1..n, OTM1..n of each bucket's own ATM, for one side's contracts."""
    side = rules.SIDES[option_side]
    # Only pcr needs the other side's contracts.
    expiries, steps, window = _window_chains(underlying, timeframe=timeframe, hours=hours, expiries=expiries,
                                             depth=depth, sides=(rules.CALL, rules.PUT) if indicator == "pcr"
                                             else (side,))
    data: dict[date, list[dict]] = {expiry: [] for expiry in expiries}
    for label, chains in window:
        for expiry, chain in chains.items():
            atm = chain.atm_strike()
            if atm is None:
                continue
            spot = chain.spot if chain.spot is not None else chain.forward
            marks = rules.moneyness_strikes(atm=atm, step=steps[expiry], depth=depth if steps[expiry] else 0,
                                            side=side)
            for moneyness, strike in marks:
                row = chain.contract(strike, side)
                if indicator == "pcr":
                    value = rules.ratio(_side(chain.contract(strike, rules.PUT), "oi"),
                                        _side(chain.contract(strike, rules.CALL), "oi"))
                elif row is None:
                    value = None
                elif indicator == "premium_abs":
                    value = price(row["ltp"])
                elif indicator == "premium_pct":
                    value = float(row["ltp"] / spot * 100) if row["ltp"] is not None and spot else None
                else:
                    value = row[indicator]
                data[expiry].append({"bucket_time": label, "moneyness": moneyness, "strike": number(strike),
                                     "value": value, "volume": _side(row, "volume"), "oi": _side(row, "oi")})
    return {"status": "ok", "symbol": underlying, "timeframe": timeframe, "indicator": indicator,
            "option_side": option_side, "hours": hours, "depth": depth,
            "series": [{"expiry": expiry, "data": data[expiry]} for expiry in expiries]}


def straddle_series(*, underlying: str, expiry: date | None, timeframe: str, hours: int) -> dict:
    """The ATM straddle premium at each bucket's close, following the ATM strike as the forward moves."""
    (expiry,), _steps, window = _window_chains(underlying, timeframe=timeframe, hours=hours,
                                               expiries=[expiry] if expiry else [], depth=0)
    series = []
    for label, chains in window:
        chain = chains.get(expiry)
        atm = chain.atm_strike() if chain else None
        if atm is None:
            continue
        call, put, premium = rules.straddle_premium(chain, atm)
        series.append({"bucket_time": label, "atm_strike": number(atm), "call": price(call), "put": price(put),
                       "premium": price(premium)})
    return {"status": "success", "symbol": underlying, "expiry": expiry, "timeframe": timeframe, "hours": hours,
            "series": series}
