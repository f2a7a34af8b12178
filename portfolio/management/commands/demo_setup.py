"""Create the demo user with a connected paper account and a week of history, and print how to sign in.

On a fresh machine the paper market opens PAPER_DEMO_HISTORY_DAYS trading days
ago and is replayed to now: the demo account starts with delivery holdings,
trades a little along the way (a NIFTY future, a delivery buy that settles T+1,
an intraday trade squared off at 15:20, an option), and after each session's
close its portfolio is synced and snapshotted, exactly as beat does live.
Along the way the option chains and futures are captured as the analytics
beat job captures them: the current session minute by minute (its last
RECENT_MINUTES), the sessions before it HISTORY_CAPTURES times each (every 5
minutes on NSE's hours), which the 5- and 15-minute views need and which keeps
the demo's start near a minute (bench/README.md).
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from analytics.backfill import snapshot_backfill
from brokers import services as broker_services
from brokers.paper import catalogue, ledger, market
from brokers.paper.catalogue import IST, next_trading_day, previous_trading_day, session_bounds
from brokers.domain import Broker, ConnectionStatus
from brokers.models import BrokerConnection
from brokers.paper.models import PaperAccount, PaperHolding, PaperInstrument, PaperMarket
from portfolio import services

# (symbol, quantity, average price as a fraction of the reference price)
DEMO_HOLDINGS = (
    ("RELIANCE", 40, "0.92"), ("TCS", 15, "1.04"), ("HDFCBANK", 60, "0.95"), ("INFY", 30, "1.02"),
    ("ITC", 200, "0.97"), ("SBIN", 50, "0.90"), ("LT", 10, "0.96"), ("BHARTIARTL", 20, "0.88"),
)
MINUTE = timedelta(minutes=1)
HISTORY_CAPTURES = 75
RECENT_MINUTES = catalogue.SESSION_MINUTES


class Command(BaseCommand):
    help = "Create (once) the demo user, its paper account and a replayed week of history; print the credentials."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")

    def handle(self, *args, username, **options):
        user, password = self._user(username)
        fresh_market = not PaperMarket.objects.exists()
        if fresh_market:
            market.market_create(start=session_bounds(self._history_start())[0])
        connection = self._paper_connection(user)
        if fresh_market:
            self._seed_holdings(connection.account_id)
            days = self._replay(connection)
            self.stdout.write(f"Replayed the paper market over {days} sessions.")
        now = timezone.now()
        current = self._current_session(now)
        recent = max(session_bounds(current)[0], now - RECENT_MINUTES * MINUTE)
        snapshot_backfill(start=session_bounds(current)[0], end=recent, step=self._history_step(current))
        snapshot_backfill(start=recent, end=now, step=MINUTE)
        self.stdout.write(self.style.SUCCESS(
            f"Demo user: {username} / {password}  (paper account {connection.account_id})\n"
            f"  Sign in: POST /api/auth/token {{\"username\": \"{username}\", \"password\": \"{password}\"}}"
        ))

    def _user(self, username: str):
        password_file = settings.STATE_DIR / "demo_password"
        if not password_file.exists():
            settings.STATE_DIR.mkdir(parents=True, exist_ok=True)
            password_file.write_text(secrets.token_urlsafe(12))
            password_file.chmod(0o600)
        password = password_file.read_text().strip()
        user, created = get_user_model().objects.get_or_create(username=username)
        if created or not user.check_password(password):
            user.set_password(password)
            user.save()
        return user, password

    def _paper_connection(self, user) -> BrokerConnection:
        connected = BrokerConnection.objects.filter(user=user, broker=Broker.PAPER, status=ConnectionStatus.CONNECTED)
        if not connected.exists():
            broker_services.connection_initiate(user=user, broker=Broker.PAPER, credentials={},
                                                options={"opening_cash": settings.PAPER_OPENING_CASH})
        return connected.first()

    @staticmethod
    def _history_start():
        day = timezone.now().astimezone(IST).date()
        for _ in range(settings.PAPER_DEMO_HISTORY_DAYS):
            day = previous_trading_day(day)
        return day

    @staticmethod
    def _current_session(now) -> date:
        """The latest session that has opened by `now`: today's from its open, else the trading day before."""
        day = now.astimezone(IST).date()
        if not catalogue.is_trading_day(day) or now < session_bounds(day)[0]:
            day = previous_trading_day(day)
        return day

    @staticmethod
    def _history_step(day: date) -> timedelta:
        """A past session's capture step: HISTORY_CAPTURES a session (5 minutes on NSE's hours, ~19 with always)."""
        open_at, close_at = session_bounds(day)
        return max(MINUTE, (close_at - open_at) // HISTORY_CAPTURES // MINUTE * MINUTE)

    @staticmethod
    def _seed_holdings(account_id: str) -> None:
        account = PaperAccount.objects.get(account_id=account_id)
        references = {equity.symbol: equity.price for equity in catalogue.EQUITIES}
        for symbol, quantity, factor in DEMO_HOLDINGS:
            PaperHolding.objects.get_or_create(
                account=account, instrument=PaperInstrument.objects.get(exchange="NSE", tradingsymbol=symbol),
                defaults={"quantity": quantity,
                          "average_price": catalogue.round_to_tick(references[symbol] * Decimal(factor))})

    def _replay(self, connection: BrokerConnection) -> int:
        now = timezone.now()
        clock = PaperMarket.objects.get().clock_at
        day, sessions = clock.astimezone(IST).date(), 0
        current = self._current_session(now)
        while session_bounds(day)[1] <= now:
            open_at, close_at = session_bounds(day)
            step = MINUTE if day == current else self._history_step(day)

            def advance(to, open_at=open_at, step=step):  # the market runs on, captured on the way
                snapshot_backfill(start=open_at, end=to, step=step)

            self._trade(connection.account_id, day, sessions, advance)
            advance(close_at)
            services.account_snapshot(connection=connection, day=day)
            sessions += 1
            day = next_trading_day(day)
        return sessions

    @staticmethod
    def _trade(account_id: str, day, session: int, advance) -> None:
        """A few trades through the exchange's own ledger, at its prices, on chosen sessions; `advance(to)` runs the
        market to a trade's time."""

        def fill(symbol: str, exchange: str, side: str, quantity: int, product: str, at: time) -> None:
            advance(datetime.combine(day, at, IST))
            instrument = PaperInstrument.objects.get(exchange=exchange, tradingsymbol=symbol)
            ledger.ledger_fill(account_id=account_id, instrument=instrument, side=side, quantity=quantity,
                               price=instrument.last_price, product=product)

        nifty = catalogue.INDICES[0]
        if session == 1:
            expiry = catalogue.monthly_expiries(day, 1)[0]
            fill(catalogue.future_symbol("NIFTY", expiry), "NFO", "BUY", nifty.lot_size, "NRML", time(10, 0))
        elif session == 3:
            fill("INFY", "NSE", "BUY", 10, "CNC", time(11, 0))
        elif session == 5:
            fill("SBIN", "NSE", "BUY", 100, "MIS", time(10, 30))
            advance(datetime.combine(day, time(10, 45), IST))
            spot = PaperInstrument.objects.get(token=nifty.token).last_price
            strike = int(round(spot / nifty.strike_step) * nifty.strike_step)
            expiry = catalogue.weekly_expiry(day)
            fill(catalogue.option_symbol("NIFTY", expiry, strike, "CE"), "NFO", "BUY", nifty.lot_size, "NRML", time(11, 0))

