"""History for the demo: the paper market replayed through past sessions, captured at each step.

The paper market's walk is drawn per minute from its seed, so its state at a
minute is the same however it got there. A replay therefore advances the
stored market to each session's first step (the open: new contracts listed,
accounts settled, orders matched), then walks the market in memory
(`market_replay`) from step to step and captures each, as `market_advance` would have priced
and stored it (volume and open interest included; only the day's high and
low, which capture does not read, depend on how often a market is looked at).
The stored market is then advanced to the end in one go, where resting
orders are matched: a replay for history, not for orders.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from datetime import date, datetime, timedelta

from analytics.capture import MINUTE, chains_capture, underlyings
from analytics.sources import paper_chains_of
from brokers.domain import Broker
from brokers.paper import catalogue, market


def backfill_moments(*, start: datetime, end: datetime, step: timedelta = MINUTE) -> Iterator[tuple[date, datetime]]:
    """(day, moment) every `step` from each session's open, within the session and within [start, end]."""
    day = start.astimezone(catalogue.IST).date()
    while day <= end.astimezone(catalogue.IST).date():
        if catalogue.is_trading_day(day):
            moment, close = catalogue.session_bounds(day)
            while moment < close and moment <= end:
                if moment >= start:
                    yield day, moment
                moment += step
        day += timedelta(days=1)


def snapshot_backfill(*, start: datetime, end: datetime, step: timedelta = MINUTE) -> int:
    """Replay the paper market from `start` to `end`, capturing its chains at every `step` in session; the stored
    market is left at `end`. Steps before the market's clock are skipped (it cannot go back). Returns the
    captures made."""
    names = underlyings()
    captures = 0
    steps = backfill_moments(start=max(start, market.market_get().clock_at), end=end, step=step)
    for day, session_steps in groupby(steps, key=lambda step_: step_[0]):
        moments = [moment for _, moment in session_steps]
        market.market_advance(to=moments[0])  # the open: contracts listed, accounts settled
        for moment, rows in market.market_replay(day=day, moments=moments):
            chains_capture(paper_chains_of(rows, clock=moment, underlyings=names), at=moment,
                           source=Broker.PAPER.value)
            captures += 1
    market.market_advance(to=end)
    return captures
