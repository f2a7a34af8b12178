"""The paper exchange's market: a seeded random walk per underlying, driven by a clock any process can advance.

Everything lives in the database (PaperMarket, PaperInstrument), so web,
worker and the market process see one market. Advancing is deterministic: the
walk draws one random number per underlying per market minute from a
generator seeded by (PAPER_SEED, minute), so stepping to a time in one go or
in many small steps gives the same prices, volumes and open interest (only
the day's high and low depend on how often the market was looked at, as with
any sampled feed).
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from brokers.options import black76, future_price, years_to_expiry
from brokers.paper import catalogue, engine, ledger
from brokers.paper.catalogue import IST, RISK_FREE_RATE, smile_vol
from brokers.paper.models import PaperInstrument, PaperMarket

logger = logging.getLogger("budhitrade.paper")

MINUTES_PER_YEAR = 252 * catalogue.SESSION_MINUTES
INDEX_CORRELATION = {"BANKNIFTY": 0.8}
EQUITY_BETA_WEIGHT = 0.5
# Volume and open interest move every few minutes, as NSE's own OI figures do.
FLOW_MINUTES = 3
_STATE_FIELDS = ["last_price", "open_price", "high_price", "low_price", "close_price", "volume", "oi",
                 "oi_day_open", "walk_log", "walk_minute", "active"]


def _unix_minute(moment: datetime) -> int:
    return int(moment.timestamp() // 60)


def _minute_rng(seed: int, minute: int, stream: int) -> random.Random:
    return random.Random((seed * 1_000_003 + minute) * 8 + stream)


def _underlyings() -> list[tuple[int, str, float]]:
    """(token, symbol, annual vol) in the fixed order the walk draws them."""
    rows = [(index.token, index.symbol, index.annual_vol) for index in catalogue.INDICES]
    rows += [(equity.token, equity.symbol, equity.annual_vol) for equity in sorted(catalogue.EQUITIES, key=lambda e: e.token)]
    return rows


UNDERLYINGS = _underlyings()
INDEX_BY_SYMBOL = {index.symbol: index for index in catalogue.INDICES}


def _shocks(seed: int, minute: int, stream: int = 0) -> dict[int, float]:
    """Correlated standard normal shocks for every underlying for one minute (or one second)."""
    rng = _minute_rng(seed, minute, stream)
    raw = [rng.gauss(0.0, 1.0) for _ in UNDERLYINGS]
    market = raw[0]
    shocks = {}
    for (token, symbol, _), own in zip(UNDERLYINGS, raw):
        if symbol == "NIFTY":
            shocks[token] = own
        elif symbol in INDEX_CORRELATION:
            rho = INDEX_CORRELATION[symbol]
            shocks[token] = rho * market + math.sqrt(1 - rho * rho) * own
        else:
            shocks[token] = EQUITY_BETA_WEIGHT * market + math.sqrt(1 - EQUITY_BETA_WEIGHT ** 2) * own
    return shocks


def _minute_sigma(annual_vol: float) -> float:
    return annual_vol / math.sqrt(MINUTES_PER_YEAR)


# --- listing -----------------------------------------------------------------------------------

def _list_underlyings(seed: int, at: datetime) -> None:
    minute = _unix_minute(at)
    rows = []
    for index in catalogue.INDICES:
        rows.append(PaperInstrument(token=index.token, tradingsymbol=index.name, name=index.name, exchange="NSE",
                                    instrument_type="INDEX", lot_size=1, **_opening_state(index.price, minute)))
    for equity in catalogue.EQUITIES:
        rows.append(PaperInstrument(token=equity.token, tradingsymbol=equity.symbol, name=equity.name, exchange="NSE",
                                    instrument_type="EQ", isin=equity.isin, lot_size=1,
                                    **_opening_state(equity.price, minute)))
    PaperInstrument.objects.bulk_create(rows, ignore_conflicts=True)


def _opening_state(price: Decimal, minute: int) -> dict:
    return {"last_price": price, "open_price": price, "high_price": price, "low_price": price, "close_price": price,
            "walk_log": math.log(float(price)), "walk_minute": minute}


def _option_base_lots(index: catalogue.Index, strike: int, spot: float, option_type: str, weekly: bool) -> float:
    steps_away = (strike - spot) / index.strike_step
    peak = 120_000 if index.symbol == "NIFTY" else 40_000
    # Writers sit out of the money: calls above spot, puts below, with round strikes busiest.
    out_of_money = steps_away if option_type == "CE" else -steps_away
    lots = peak * math.exp(-((steps_away / 8.0) ** 2)) * (1.6 if out_of_money > 0 else 0.7)
    if strike % (index.strike_step * 10) == 0:
        lots *= 1.5
    return lots * (1.0 if weekly else 0.45)


def _contract_rows(seed: int, index: catalogue.Index, day: date, spot: float, existing: set[str]) -> list[PaperInstrument]:
    rows: list[PaperInstrument] = []

    def add(symbol: str, **fields) -> None:
        if symbol in existing:
            return
        existing.add(symbol)
        base_rng = random.Random(seed * 7919 + catalogue.derivative_token(symbol))
        lots = fields.pop("base_lots") * base_rng.uniform(0.7, 1.3)
        oi = int(round(lots)) * index.lot_size
        rows.append(PaperInstrument(
            token=catalogue.derivative_token(symbol), tradingsymbol=symbol, name=index.symbol, exchange="NFO",
            underlying=index.symbol, lot_size=index.lot_size, oi=oi, oi_day_open=oi,
            last_price=Decimal("0.05"), open_price=Decimal("0"), high_price=Decimal("0"), low_price=Decimal("0"),
            close_price=Decimal("0"), **fields))

    near_lots = 200_000 if index.symbol == "NIFTY" else 80_000
    for position, expiry in enumerate(catalogue.monthly_expiries(day, catalogue.FUTURE_EXPIRIES)):
        add(catalogue.future_symbol(index.symbol, expiry), instrument_type="FUT", expiry=expiry,
            base_lots=near_lots * (1.0, 0.2, 0.05)[position])
    option_expiries = catalogue.option_expiries(day, weekly=index.weekly_options)
    atm = round(spot / index.strike_step) * index.strike_step
    for expiry, weekly in option_expiries.items():
        for offset in range(-catalogue.STRIKES_EACH_SIDE, catalogue.STRIKES_EACH_SIDE + 1):
            strike = atm + offset * index.strike_step
            for option_type in ("CE", "PE"):
                add(catalogue.option_symbol(index.symbol, expiry, strike, option_type), instrument_type=option_type,
                    expiry=expiry, strike=Decimal(strike),
                    base_lots=_option_base_lots(index, strike, spot, option_type, weekly))
    return rows


def _list_contracts(seed: int, day: date) -> None:
    """List each index's futures and options for `day` (new strikes around today's spot) and retire expired ones."""
    PaperInstrument.objects.filter(exchange="NFO", expiry__lt=day, active=True).update(active=False)
    existing = set(PaperInstrument.objects.filter(exchange="NFO").values_list("tradingsymbol", flat=True))
    taken = set(PaperInstrument.objects.values_list("token", flat=True))
    spots = dict(PaperInstrument.objects.filter(instrument_type="INDEX").values_list("token", "last_price"))
    rows = []
    for index in catalogue.INDICES:
        rows += _contract_rows(seed, index, day, float(spots[index.token]), existing)
    for row in rows:
        while row.token in taken:  # a clash of derived tokens: the next free number, the same in every run
            row.token += 1
        taken.add(row.token)
    PaperInstrument.objects.bulk_create(rows)


# --- the walk ----------------------------------------------------------------------------------

class _Book:
    """The market's instruments in memory while one advance runs."""

    def __init__(self, seed: int):
        self.seed = seed
        self.rows = list(PaperInstrument.objects.filter(active=True))
        self.by_token = {row.token: row for row in self.rows}
        self.underlyings = [self.by_token[token] for token, _, _ in UNDERLYINGS]
        self.sigma = {token: _minute_sigma(vol) for token, _, vol in UNDERLYINGS}
        self.derivatives = [row for row in self.rows if row.exchange == "NFO"]
        self.equities = [row for row in self.underlyings if row.instrument_type == "EQ"]
        self.index_token = {index.symbol: index.token for index in catalogue.INDICES}

    def walk_to(self, minute: int) -> None:
        """Step every underlying, minute by minute, up to `minute`; volume and OI move every FLOW_MINUTES."""
        start = self.underlyings[0].walk_minute
        if minute <= start:
            return
        highs = {row.token: -math.inf for row in self.underlyings}
        lows = {row.token: math.inf for row in self.underlyings}
        for step in range(start + 1, minute + 1):
            shocks = _shocks(self.seed, step)
            for row in self.underlyings:
                row.walk_log += self.sigma[row.token] * shocks[row.token]
                highs[row.token] = max(highs[row.token], row.walk_log)
                lows[row.token] = min(lows[row.token], row.walk_log)
            if step % FLOW_MINUTES == 0:
                self._flow(step, shocks)
        for row in self.underlyings:
            row.walk_minute = minute
            row.high_price = max(row.high_price, catalogue.round_to_tick(math.exp(highs[row.token])))
            row.low_price = min(row.low_price, catalogue.round_to_tick(math.exp(lows[row.token])))

    def _flow(self, minute: int, shocks: dict[int, float]) -> None:
        """FLOW_MINUTES of trading: equity volume by turnover; derivatives' volume and OI (in whole lots)."""
        rng = _minute_rng(self.seed, minute, 1)
        gauss = rng.gauss
        turnover = FLOW_MINUTES * 4e9 / catalogue.SESSION_MINUTES
        for row in self.equities:
            row.volume += int(turnover / math.exp(row.walk_log) * (0.5 + abs(gauss(0.0, 1.0))))
        session_index = minute // catalogue.SESSION_MINUTES
        for row in self.derivatives:
            own = gauss(0.0, 1.0)
            lot = row.lot_size
            lots_oi = row.oi // lot
            if row.instrument_type == "FUT":
                # Each contract leans long or short for a spell, so OI and price move together or apart.
                lean = 1 if (row.token + session_index) % 2 else -1
                change = lots_oi * 0.0035 * (0.6 * lean * shocks[self.index_token[row.underlying]] + 0.8 * own)
                traded = max(lots_oi // 130, 1)
            else:
                change = lots_oi * (0.005 * own + 0.0015)
                traded = max(lots_oi // 50, 1)
            row.oi = max(0, row.oi + int(round(change)) * lot)
            row.volume += int(traded * (0.5 + abs(own))) * lot

    def spots_at(self, moment: datetime, session: tuple[datetime, datetime] | None) -> dict[int, float]:
        """Each underlying's price at `moment`: between minute points, a bridge with second-by-second noise."""
        spots = {row.token: math.exp(row.walk_log) for row in self.underlyings}
        if session is None or not session[0] <= moment < session[1]:
            return spots
        into_minute = (moment.timestamp() % 60) / 60.0
        if into_minute == 0:
            return spots
        drift = _shocks(self.seed, self.underlyings[0].walk_minute + 1)
        noise = _shocks(self.seed, int(moment.timestamp()), 2)
        bridge = math.sqrt(into_minute * (1 - into_minute))
        for token, base in spots.items():
            sigma = self.sigma[token]
            spots[token] = base * math.exp(sigma * (into_minute * drift[token] + 0.5 * bridge * noise[token]))
        return spots

    def reprice(self, moment: datetime, session: tuple[datetime, datetime] | None, *, opening: bool = False) -> None:
        """Set every instrument's last price for `moment`: underlyings from the walk, derivatives from them."""
        spots = self.spots_at(moment, session)
        for row in self.underlyings:
            self._mark(row, catalogue.round_to_tick(spots[row.token]), opening)
        for row in self.derivatives:
            index = INDEX_BY_SYMBOL[row.underlying]
            spot = spots[index.token]
            years = years_to_expiry(row.expiry, moment)
            future = future_price(spot, years, RISK_FREE_RATE)
            if row.instrument_type == "FUT":
                price = future
            else:
                strike = float(row.strike)
                vol = smile_vol(atm_vol=index.atm_vol, future=future, strike=strike, years=years)
                price = black76(future=future, strike=strike, years=years, rate=RISK_FREE_RATE, vol=vol,
                                option_type=row.instrument_type)
            self._mark(row, catalogue.round_to_tick(price), opening)

    @staticmethod
    def _mark(row: PaperInstrument, price: Decimal, opening: bool) -> None:
        row.last_price = price
        if opening or not row.open_price:
            row.open_price = row.high_price = row.low_price = price
            if not row.close_price:
                row.close_price = price
        else:
            row.high_price = max(row.high_price, price)
            row.low_price = min(row.low_price, price)

    def open_day(self, day: date) -> None:
        """A new session: yesterday's last price is the close, an overnight gap, counters reset."""
        open_at, _ = catalogue.session_bounds(day)
        minute = _unix_minute(open_at)
        gaps = _shocks(self.seed, minute, 3)
        for row in self.rows:
            row.close_price = row.last_price
            row.volume = 0
            row.oi_day_open = row.oi
        for row in self.underlyings:
            row.walk_log += 3 * self.sigma[row.token] * gaps[row.token]
            row.walk_minute = minute

    def save(self) -> None:
        # One prepared UPDATE run per row: bulk_update's CASE expressions cost a second for 300 rows.
        table = PaperInstrument._meta.db_table
        assignments = ", ".join(f"{connection.ops.quote_name(name)} = %s" for name in _STATE_FIELDS)
        now = timezone.now()
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET {assignments}, updated_at = %s WHERE id = %s",
                [[getattr(row, name) for name in _STATE_FIELDS] + [now, row.pk] for row in self.rows],
            )


def _events(start: datetime, end: datetime) -> list[tuple[datetime, str, date]]:
    """Session opens, MIS square-offs and closes strictly after `start` and up to `end`, in order."""
    events = []
    day = start.astimezone(IST).date()
    while day <= end.astimezone(IST).date():
        if catalogue.is_trading_day(day):
            open_at, close_at = catalogue.session_bounds(day)
            square_off = catalogue.square_off_at(day)
            for moment, kind in ((open_at, "open"), (square_off, "square_off"), (close_at, "close")):
                if start < moment <= end:
                    events.append((moment, kind, day))
        day += timedelta(days=1)
    return events


def market_create(*, start: datetime, seed: int | None = None) -> PaperMarket:
    """Open the paper exchange at `start` with the catalogue's reference prices (once)."""
    seed = settings.PAPER_SEED if seed is None else seed
    with transaction.atomic():
        market, created = PaperMarket.objects.get_or_create(pk=1, defaults={"seed": seed, "clock_at": start})
        if created:
            _list_underlyings(seed, start)
            day = start.astimezone(IST).date()
            if catalogue.is_trading_day(day) and start >= catalogue.session_bounds(day)[0]:
                market.session_date = day
                market.save(update_fields=["session_date"])
                _list_contracts(seed, day)
                book = _Book(seed)
                book.reprice(start, catalogue.session_bounds(day), opening=True)
                book.save()
            logger.info("paper_market_created", extra={"seed": seed, "clock_at": start.isoformat()})
    return market


def market_get() -> PaperMarket:
    """The paper exchange, opened now with no history if nothing opened it before."""
    market = PaperMarket.objects.filter(pk=1).first()
    return market or market_create(start=timezone.now())


def market_advance(*, to: datetime) -> PaperMarket:
    """Run the market from its clock to `to`: the walk, session opens, MIS square-off and closes.

    After each event, with prices at that moment stored and in the same
    transaction, the exchange's accounts settle (open) or square off (15:20)
    and the matching engine runs (open orders fill, MIS orders are cancelled
    at 15:20, DAY orders at the close); after the last step it matches again.
    """
    market_get()
    with transaction.atomic():
        market = PaperMarket.objects.select_for_update().get(pk=1)
        if to <= market.clock_at:
            return market
        for moment, kind, day in _events(market.clock_at, to):
            _step(market, moment)
            if kind == "open":  # the walk of the previous session closed out, a new one opens
                _open(market, day, moment)
                ledger.ledger_on_market_event(kind, day, moment)
                engine.engine_step(now=moment, event=kind)
            else:
                engine.engine_step(now=moment, event=kind)
                ledger.ledger_on_market_event(kind, day, moment)
        _step(market, to)
        engine.engine_step(now=to)
        logger.debug("paper_market_advanced", extra={"clock_at": to.isoformat()})
    return market


def _session(market: PaperMarket) -> tuple[datetime, datetime] | None:
    return catalogue.session_bounds(market.session_date) if market.session_date else None


def _step(market: PaperMarket, moment: datetime) -> None:
    """Run the market to `moment`."""
    book = _Book(market.seed)
    session = _session(market)
    if session is not None:
        book.walk_to(_unix_minute(min(max(moment, session[0]), session[1])))
    # After the close the market stands still: prices (and option time value) stay as they closed.
    book.reprice(min(moment, session[1]) if session else moment, session)
    book.save()
    market.clock_at = moment
    market.save(update_fields=["clock_at"])


def _open(market: PaperMarket, day: date, moment: datetime) -> None:
    book = _Book(market.seed)
    book.open_day(day)
    book.save()
    market.session_date = day
    _list_contracts(market.seed, day)
    book = _Book(market.seed)
    book.reprice(moment, _session(market), opening=True)
    book.save()
    market.clock_at = moment
    market.save(update_fields=["clock_at", "session_date"])


def market_replay(*, day: date, moments: Iterable[datetime]) -> Iterator[tuple[datetime, list[PaperInstrument]]]:
    """The market's instruments at each of `moments` (in order, within `day`'s session, from the stored clock on),
    walked in memory from the stored market: prices, volume and OI as market_advance would store them, nothing
    saved and no order matched (history for analytics, not a trading replay)."""
    book = _Book(market_get().seed)
    session = catalogue.session_bounds(day)
    for moment in moments:
        book.walk_to(_unix_minute(moment))
        book.reprice(moment, session)
        yield moment, book.rows
