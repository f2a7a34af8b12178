"""Option-chain and futures snapshots: one row per contract per one-minute bucket.

The capture job (analytics/capture.py) writes them each minute in market
hours; every endpoint reads them back. Five- and fifteen-minute timeframes are
read from the one-minute rows (the last row in each longer bucket), so only
one table per kind is kept, bounded by ANALYTICS_RETENTION_DAYS.

Prices are Decimal, as money is everywhere here; implied volatility and the
greeks are floats (model outputs, not amounts), null where they cannot be
computed honestly (no quote, a price below intrinsic, no time value).
"""

from __future__ import annotations

from django.db import models


class OptionSide(models.TextChoices):
    CALL = "CE", "Call"
    PUT = "PE", "Put"


class OptionSnapshot(models.Model):
    """One option's quote, open interest, IV and greeks in one minute."""

    underlying = models.CharField(max_length=32, help_text="NIFTY, BANKNIFTY")
    expiry = models.DateField()
    strike = models.DecimalField(max_digits=12, decimal_places=2)
    option_type = models.CharField(max_length=2, choices=OptionSide.choices)
    bucket = models.DateTimeField(help_text="Start of the one-minute bucket (aware, UTC).")
    tradingsymbol = models.CharField(max_length=64)
    ltp = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    bid = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    ask = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    volume = models.BigIntegerField(default=0)
    oi = models.BigIntegerField(default=0)
    underlying_price = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    future_price = models.DecimalField(max_digits=14, decimal_places=2, null=True,
                                       help_text="The forward the greeks were priced on (parity or the listed future).")
    iv = models.FloatField(null=True)
    delta = models.FloatField(null=True)
    gamma = models.FloatField(null=True)
    theta = models.FloatField(null=True, help_text="Per calendar day.")
    vega = models.FloatField(null=True, help_text="Per 1 vol point (0.01).")
    source = models.CharField(max_length=16, help_text="The broker the quotes came from (paper, zerodha, kotak_neo).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["underlying", "expiry", "bucket", "strike", "option_type"],
                                    name="analytics_option_snapshot_unique"),
        ]
        indexes = [
            # The latest bucket and the buckets in a window, per underlying (every endpoint starts here).
            models.Index(fields=["underlying", "bucket"], name="analytics_option_und_bucket"),
            # A retention prune walks buckets oldest first.
            models.Index(fields=["bucket"], name="analytics_option_bucket"),
        ]

    def __str__(self) -> str:
        return f"{self.tradingsymbol} @ {self.bucket:%Y-%m-%d %H:%M}"


class FutureSnapshot(models.Model):
    """One futures contract's price, volume and open interest in one minute."""

    underlying = models.CharField(max_length=32)
    contract = models.CharField(max_length=64, help_text="Trading symbol, e.g. NIFTY25NOVFUT.")
    expiry = models.DateField()
    bucket = models.DateTimeField(help_text="Start of the one-minute bucket (aware, UTC).")
    open = models.DecimalField(max_digits=14, decimal_places=2)
    high = models.DecimalField(max_digits=14, decimal_places=2)
    low = models.DecimalField(max_digits=14, decimal_places=2)
    close = models.DecimalField(max_digits=14, decimal_places=2)
    volume = models.BigIntegerField(default=0)
    oi = models.BigIntegerField(default=0)
    underlying_price = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    source = models.CharField(max_length=16)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["underlying", "contract", "bucket"], name="analytics_future_snapshot_unique"),
        ]
        indexes = [
            models.Index(fields=["underlying", "bucket"], name="analytics_future_und_bucket"),
            models.Index(fields=["bucket"], name="analytics_future_bucket"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} @ {self.bucket:%Y-%m-%d %H:%M}"
