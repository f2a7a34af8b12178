"""Each account's latest portfolio, as its last sync fetched it from the broker."""

from django.db import models

from brokers.domain import FundsSegment
from brokers.models import BrokerConnection

MONEY = {"max_digits": 18, "decimal_places": 4}


class Holding(models.Model):
    """A delivery holding (seed 004 §4)."""

    connection = models.ForeignKey(BrokerConnection, on_delete=models.CASCADE, related_name="holdings")
    tradingsymbol = models.CharField(max_length=64)
    exchange = models.CharField(max_length=16, help_text="A value BudhiTrade does not know yet is the broker's own.")
    isin = models.CharField(max_length=16, blank=True, default="")
    quantity = models.IntegerField()
    average_price = models.DecimalField(**MONEY)
    last_price = models.DecimalField(**MONEY, null=True, blank=True, help_text="Null when the broker gave no price.")
    close_price = models.DecimalField(**MONEY)
    pnl = models.DecimalField(**MONEY, null=True, blank=True)
    day_change = models.DecimalField(**MONEY, null=True, blank=True)
    product = models.CharField(max_length=16, default="CNC")
    collateral_quantity = models.IntegerField(default=0)
    collateral_type = models.CharField(max_length=32, blank=True, default="")
    t1_quantity = models.IntegerField(default=0, help_text="Bought on the previous session, not yet settled.")
    sellable_quantity = models.IntegerField(null=True, blank=True)
    market_value = models.DecimalField(**MONEY, null=True, blank=True)
    holding_cost = models.DecimalField(**MONEY, null=True, blank=True)
    instrument_token = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        ordering = ["tradingsymbol", "exchange"]
        indexes = [models.Index(fields=["connection", "tradingsymbol"])]


class Position(models.Model):
    """A net position for the day (seed 004 §2)."""

    connection = models.ForeignKey(BrokerConnection, on_delete=models.CASCADE, related_name="positions")
    tradingsymbol = models.CharField(max_length=64)
    exchange = models.CharField(max_length=16, help_text="A value BudhiTrade does not know yet is the broker's own.")
    product = models.CharField(max_length=16)
    instrument_token = models.CharField(max_length=32, blank=True, default="")
    quantity = models.IntegerField()
    average_price = models.DecimalField(**MONEY)
    last_price = models.DecimalField(**MONEY, null=True, blank=True, help_text="Null when the broker gave no price.")
    close_price = models.DecimalField(**MONEY)
    pnl = models.DecimalField(**MONEY, null=True, blank=True)
    m2m = models.DecimalField(**MONEY, null=True, blank=True)
    day_pnl = models.DecimalField(**MONEY, null=True, blank=True)
    value = models.DecimalField(**MONEY)
    buy_quantity = models.IntegerField()
    buy_price = models.DecimalField(**MONEY)
    sell_quantity = models.IntegerField()
    sell_price = models.DecimalField(**MONEY)
    overnight_quantity = models.IntegerField()
    multiplier = models.DecimalField(**MONEY, default=1, help_text="Units per quoted price (commodity lots).")
    realised = models.DecimalField(**MONEY, default=0)
    unrealised = models.DecimalField(**MONEY, null=True, blank=True)

    class Meta:
        ordering = ["tradingsymbol", "exchange", "product"]
        indexes = [models.Index(fields=["connection", "tradingsymbol"])]


class Funds(models.Model):
    """Funds of one segment (seed 004 §5); `available`/`utilised` hold named amounts as decimal strings."""

    connection = models.ForeignKey(BrokerConnection, on_delete=models.CASCADE, related_name="funds")
    segment = models.CharField(max_length=16, choices=FundsSegment.choices)
    enabled = models.BooleanField(default=True)
    net = models.DecimalField(**MONEY)
    available = models.JSONField(default=dict)
    utilised = models.JSONField(default=dict)

    class Meta:
        verbose_name_plural = "funds"
        constraints = [models.UniqueConstraint(fields=["connection", "segment"], name="one_funds_row_per_segment")]


class AccountSync(models.Model):
    """When an account was last synced, what it brought, and the last failure."""

    connection = models.OneToOneField(BrokerConnection, on_delete=models.CASCADE, related_name="sync")
    synced_at = models.DateTimeField(null=True, blank=True)
    holdings_count = models.IntegerField(default=0)
    positions_count = models.IntegerField(default=0)
    orders_count = models.IntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")


class DailySnapshot(models.Model):
    """An account's portfolio at one session's close (seed 003's last_7_days)."""

    connection = models.ForeignKey(BrokerConnection, on_delete=models.CASCADE, related_name="daily_snapshots")
    date = models.DateField()
    value = models.DecimalField(**MONEY, help_text="Free funds + margin blocked + holdings at market.")
    invested = models.DecimalField(**MONEY, help_text="Holdings at cost.")
    pnl = models.DecimalField(**MONEY, help_text="Holdings and positions P&L.")
    day_pnl = models.DecimalField(**MONEY, help_text="The session's change: holdings' day change plus positions' M2M.")
    unused_funds = models.DecimalField(**MONEY)
    allocated_funds = models.DecimalField(**MONEY)
    taken_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["connection", "date"]
        constraints = [models.UniqueConstraint(fields=["connection", "date"], name="one_snapshot_per_account_day")]
