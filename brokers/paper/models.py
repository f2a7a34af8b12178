"""The paper exchange's own tables: its market clock, listing, accounts, holdings, positions, orders and fills.

They were the brokers app's before the exchange had an app of its own, and
keep those tables (`db_table`), so a database carries over as it is.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class PaperMarket(models.Model):
    """The paper exchange's clock and seed: one row, advanced by whichever process holds its lock."""

    seed = models.BigIntegerField()
    clock_at = models.DateTimeField(help_text="How far the simulated market has run.")
    session_date = models.DateField(null=True, blank=True, help_text="The last trading day whose open was processed.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "brokers_papermarket"

    def __str__(self) -> str:
        return f"Paper market (seed {self.seed}) at {self.clock_at:%Y-%m-%d %H:%M:%S}"


class PaperInstrument(models.Model):
    """One instrument the paper exchange lists, with its live state (price, OHLC, volume, OI)."""

    token = models.BigIntegerField(unique=True)
    tradingsymbol = models.CharField(max_length=64)
    name = models.CharField(max_length=128, blank=True, default="")
    exchange = models.CharField(max_length=8)
    instrument_type = models.CharField(max_length=8)  # EQ, INDEX, FUT, CE, PE
    underlying = models.CharField(max_length=32, blank=True, default="")
    expiry = models.DateField(null=True, blank=True)
    strike = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    lot_size = models.IntegerField(default=1)
    tick_size = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("0.05"))
    isin = models.CharField(max_length=16, blank=True, default="")
    active = models.BooleanField(default=True)
    last_price = models.DecimalField(max_digits=14, decimal_places=2)
    open_price = models.DecimalField(max_digits=14, decimal_places=2)
    high_price = models.DecimalField(max_digits=14, decimal_places=2)
    low_price = models.DecimalField(max_digits=14, decimal_places=2)
    close_price = models.DecimalField(max_digits=14, decimal_places=2, help_text="The previous session's close.")
    volume = models.BigIntegerField(default=0)
    oi = models.BigIntegerField(default=0)
    oi_day_open = models.BigIntegerField(default=0)
    # Underlyings only: the random walk's log price at minute `walk_minute` (Unix minutes).
    walk_log = models.FloatField(null=True, blank=True)
    walk_minute = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "brokers_paperinstrument"
        ordering = ["token"]
        constraints = [models.UniqueConstraint(fields=["exchange", "tradingsymbol"], name="unique_paper_symbol")]
        indexes = [models.Index(fields=["underlying", "expiry"])]

    def __str__(self) -> str:
        return f"{self.exchange}:{self.tradingsymbol}"

    @property
    def is_derivative(self) -> bool:
        return self.exchange == "NFO"

    @property
    def is_option(self) -> bool:
        return self.instrument_type in ("CE", "PE")


class PaperAccount(models.Model):
    """An account at the paper exchange; the paper adapter is its only client."""

    account_id = models.CharField(max_length=16, unique=True)
    opening_cash = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("1000000"))
    # The ledger: opening cash, less delivery buys and option premium paid, plus what is settled to it.
    cash = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "brokers_paperaccount"

    def __str__(self) -> str:
        return self.account_id

    def save(self, *args, **kwargs):
        if self.cash is None:
            self.cash = self.opening_cash
        super().save(*args, **kwargs)


class PaperHolding(models.Model):
    """Settled delivery shares in a paper account's demat."""

    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="holdings")
    instrument = models.ForeignKey(PaperInstrument, on_delete=models.PROTECT, related_name="+")
    quantity = models.IntegerField()
    average_price = models.DecimalField(max_digits=14, decimal_places=4)

    class Meta:
        db_table = "brokers_paperholding"
        constraints = [models.UniqueConstraint(fields=["account", "instrument"], name="one_paper_holding_per_instrument")]


class PaperPosition(models.Model):
    """A paper account's position in one instrument and product: the day's fills plus what was carried in."""

    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="positions")
    instrument = models.ForeignKey(PaperInstrument, on_delete=models.PROTECT, related_name="+")
    product = models.CharField(max_length=8)
    overnight_quantity = models.IntegerField(default=0)
    overnight_price = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    buy_quantity = models.IntegerField(default=0)
    buy_value = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal("0"))
    sell_quantity = models.IntegerField(default=0)
    sell_value = models.DecimalField(max_digits=18, decimal_places=4, default=Decimal("0"))

    class Meta:
        db_table = "brokers_paperposition"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "instrument", "product"], name="one_paper_position_per_product")
        ]

    @property
    def quantity(self) -> int:
        return self.overnight_quantity + self.buy_quantity - self.sell_quantity


class PaperOrder(models.Model):
    """An order in the paper exchange's own order book."""

    order_id = models.CharField(max_length=24, unique=True)
    account = models.ForeignKey(PaperAccount, on_delete=models.CASCADE, related_name="orders")
    instrument = models.ForeignKey(PaperInstrument, on_delete=models.PROTECT, related_name="+")
    tag = models.CharField(max_length=32, blank=True, default="", db_index=True)
    transaction_type = models.CharField(max_length=4)
    order_type = models.CharField(max_length=8)
    product = models.CharField(max_length=8)
    variety = models.CharField(max_length=8, default="regular")
    validity = models.CharField(max_length=4, default="DAY")
    quantity = models.IntegerField()
    disclosed_quantity = models.IntegerField(default=0)
    price = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    trigger_price = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    status = models.CharField(max_length=16)
    filled_quantity = models.IntegerField(default=0)
    average_price = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    status_message = models.CharField(max_length=255, blank=True, default="")
    exchange_order_id = models.CharField(max_length=24, blank=True, default="")
    order_timestamp = models.DateTimeField()
    exchange_timestamp = models.DateTimeField(null=True, blank=True)
    modifications = models.IntegerField(default=0)
    # What the RMS found one unit would block when it accepted (or last modified) the order.
    margin_per_unit = models.DecimalField(max_digits=18, decimal_places=6, default=Decimal("0"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "brokers_paperorder"
        ordering = ["order_timestamp", "id"]
        # The market's step reads only the orders that can fill (engine._fillable): each branch of that query is
        # a range scan of one of these partial indexes, whatever the number of orders resting away from the touch.
        indexes = [
            models.Index(fields=["status"]),
            models.Index(fields=["instrument", "transaction_type", "price"], name="paper_order_open_priced",
                         condition=models.Q(status="OPEN", order_type__in=("LIMIT", "SL"))),
            models.Index(fields=["instrument", "transaction_type", "trigger_price"], name="paper_order_stop_pending",
                         condition=models.Q(status="TRIGGER PENDING")),
            models.Index(fields=["instrument"], name="paper_order_open_taking",
                         condition=models.Q(status="OPEN") & (models.Q(order_type__in=("MARKET", "SL-M"))
                                                              | models.Q(validity="IOC"))),
        ]

    @property
    def pending_quantity(self) -> int:
        return self.quantity - self.filled_quantity if self.status in ("OPEN", "TRIGGER PENDING") else 0


class PaperTrade(models.Model):
    """One fill of a paper order."""

    trade_id = models.CharField(max_length=24, unique=True)
    order = models.ForeignKey(PaperOrder, on_delete=models.CASCADE, related_name="trades")
    quantity = models.IntegerField()
    price = models.DecimalField(max_digits=14, decimal_places=2)
    filled_at = models.DateTimeField()

    class Meta:
        db_table = "brokers_papertrade"
        ordering = ["filled_at", "id"]
