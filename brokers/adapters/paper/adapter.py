"""The paper broker: a simulated exchange behind the same interface as the real ones."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.conf import settings

from brokers.adapters.base import BrokerAdapter
from brokers.domain import (
    Broker,
    ConnectionStatus,
    FundsSegment,
    Holding,
    LoginStep,
    Position,
    SegmentFunds,
)
from brokers.models import PaperAccount


def _new_account_id() -> str:
    return "PA" + "".join(secrets.choice("0123456789") for _ in range(8))


class PaperAdapter(BrokerAdapter):
    """Opens an account at the paper exchange at once; no credentials, no second step."""

    broker = Broker.PAPER
    opens_new_account = True

    def login_start(self, *, otp: str = "", state: str = "") -> LoginStep:
        """Open (or reopen) a paper account with the requested opening cash."""
        account = PaperAccount.objects.filter(account_id=self.account_id).first() if self.account_id else None
        if account is None:
            opening_cash = Decimal(str(self.options.get("opening_cash") or settings.PAPER_OPENING_CASH))
            while True:
                account_id = _new_account_id()
                if not PaperAccount.objects.filter(account_id=account_id).exists():
                    break
            account = PaperAccount.objects.create(account_id=account_id, opening_cash=opening_cash)
        return LoginStep(
            status=ConnectionStatus.CONNECTED,
            message="Paper account connected",
            account_id=account.account_id,
        )

    def logout(self) -> None:
        """Nothing to end: the paper exchange keeps the account for a later reconnect."""

    def _account(self) -> PaperAccount:
        return PaperAccount.objects.get(account_id=self.account_id)

    def holdings(self) -> list[Holding]:
        """The paper exchange's holdings for this account (none until it trades)."""
        return []

    def positions(self) -> list[Position]:
        """The paper exchange's positions for this account (none until it trades)."""
        return []

    def funds(self) -> list[SegmentFunds]:
        """All cash available in equity; the paper exchange has no commodity segment."""
        cash = self._account().opening_cash
        return [
            SegmentFunds(
                segment=FundsSegment.EQUITY,
                enabled=True,
                net=cash,
                available={"cash": cash, "intraday_payin": Decimal("0"), "collateral": Decimal("0"), "live_balance": cash},
                utilised={"debits": Decimal("0"), "exposure": Decimal("0"), "m2m_realised": Decimal("0"), "m2m_unrealised": Decimal("0")},
            )
        ]
