"""What the portfolio API sends: rows of holdings and positions, accounts, and the totals over rows."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from brokers.domain import ConnectionStatus
from brokers.models import BrokerConnection
from portfolio import selectors
from portfolio.models import Holding, Position

MONEY = {"max_digits": 18, "decimal_places": 2, "coerce_to_string": False}
PRICE_MISSING_HELP = "True when the broker gave no price: the row is left out of value and P&L totals, never valued at 0."
PRICES_MISSING_HELP = "How many rows the totals leave out because the broker gave no price for them."


def account_status(connection: BrokerConnection) -> str:
    """004 calls a connected account "active"; other states keep their connection status."""
    return "active" if connection.status == ConnectionStatus.CONNECTED else connection.status


class HoldingOutputSerializer(serializers.ModelSerializer):
    """A holding's stored columns; money as JSON numbers (COERCE_DECIMAL_TO_STRING is off)."""

    class Meta:
        model = Holding
        fields = ["tradingsymbol", "exchange", "isin", "quantity", "average_price", "last_price", "close_price",
                  "pnl", "day_change", "product", "collateral_quantity", "collateral_type", "t1_quantity",
                  "sellable_quantity", "market_value", "holding_cost", "instrument_token"]


class PositionOutputSerializer(serializers.ModelSerializer):
    """A position's stored columns; money as JSON numbers."""

    class Meta:
        model = Position
        fields = ["tradingsymbol", "exchange", "product", "quantity", "average_price", "last_price", "close_price",
                  "pnl", "m2m", "day_pnl", "value", "buy_quantity", "buy_price", "sell_quantity", "sell_price",
                  "overnight_quantity", "instrument_token", "multiplier", "realised", "unrealised"]


class HoldingRowSerializer(HoldingOutputSerializer):
    """A holding as the API sends it: its columns and whether its price is missing."""

    price_missing = serializers.BooleanField(help_text=PRICE_MISSING_HELP)

    class Meta(HoldingOutputSerializer.Meta):
        fields = [*HoldingOutputSerializer.Meta.fields, "price_missing"]


class PositionRowSerializer(PositionOutputSerializer):
    """A position as the API sends it: its columns and whether it is open without a price."""

    price_missing = serializers.BooleanField(help_text=PRICE_MISSING_HELP)

    class Meta(PositionOutputSerializer.Meta):
        fields = [*PositionOutputSerializer.Meta.fields, "price_missing"]


def rows(queryset, serializer_class) -> list[dict]:
    """The serializer's fields straight from the database: rows of 200 positions cost a tenth of serializing
    model instances (bench/README.md). Decimals render as JSON numbers (COERCE_DECIMAL_TO_STRING is off)."""
    return list(queryset.values(*serializer_class.Meta.fields))


def position_rows(*, connection: BrokerConnection) -> list[dict]:
    """The account's stored positions as the position endpoints send them."""
    return rows(selectors.position_list(connection=connection), PositionRowSerializer)


def holding_rows(*, connection: BrokerConnection) -> list[dict]:
    """The account's stored holdings as the holding endpoints send them."""
    return rows(selectors.holding_list(connection=connection), HoldingRowSerializer)


def holding_row_totals(holding_rows: list[dict]) -> dict:
    """P&L and value (last price x (quantity + t1_quantity)) of the priced rows, and how many lack a price."""
    priced = [row for row in holding_rows if not row["price_missing"]]
    return {
        "total_pnl": float(sum((row["pnl"] for row in priced if row["pnl"] is not None), Decimal(0))),
        "total_value": float(round(sum((row["last_price"] * (row["quantity"] + row["t1_quantity"]) for row in priced),
                                       Decimal(0)), 2)),
        "prices_missing": len(holding_rows) - len(priced),
    }


def position_pnl(pnl: Decimal | None, realised: Decimal, quantity: int) -> Decimal | None:
    """The broker's P&L; for a closed position without one, what it realised (nothing is open to price)."""
    if pnl is None and quantity == 0:
        return realised
    return pnl


def position_row_totals(position_rows: list[dict]) -> dict:
    """P&L and day P&L of the rows that have them, and how many open rows lack a price."""
    pnls = (position_pnl(row["pnl"], row["realised"], row["quantity"]) for row in position_rows)
    return {
        "total_pnl": float(sum((pnl for pnl in pnls if pnl is not None), Decimal(0))),
        "day_pnl": float(sum((row["day_pnl"] for row in position_rows if row["day_pnl"] is not None), Decimal(0))),
        "prices_missing": sum(1 for row in position_rows if row["price_missing"]),
    }


class AccountOutputSerializer(serializers.Serializer):
    """Seed 004 §1.1's account row, plus when it was last synced and how many positions lack a price."""

    account_id = serializers.CharField()
    user_id = serializers.IntegerField()
    broker = serializers.CharField()
    status = serializers.SerializerMethodField()
    total_pnl = serializers.DecimalField(**MONEY)
    day_pnl = serializers.DecimalField(**MONEY)
    position_count = serializers.IntegerField()
    available_margin = serializers.DecimalField(**MONEY, allow_null=True,
                                                help_text="Equity funds' net; null until a sync has brought them.")
    prices_missing = serializers.IntegerField(help_text=PRICES_MISSING_HELP)
    synced_at = serializers.DateTimeField(allow_null=True)

    def get_status(self, connection) -> str:
        return account_status(connection)


def envelope(name: str, **fields) -> serializers.Serializer:
    return inline_serializer(name, {"status": serializers.CharField(), **fields})


ACCOUNT_LIST_OUTPUT = envelope("AccountListOutput", count=serializers.IntegerField(),
                               accounts=AccountOutputSerializer(many=True))
ACCOUNT_DETAIL_OUTPUT = envelope("AccountDetailOutput", account=inline_serializer("AccountDetail", {
    "account_id": serializers.CharField(), "user_id": serializers.IntegerField(), "broker": serializers.CharField(),
    "status": serializers.CharField(), "email": serializers.CharField(), "user_name": serializers.CharField(),
    "total_pnl": serializers.FloatField(), "day_pnl": serializers.FloatField(),
    "prices_missing": serializers.IntegerField(help_text=PRICES_MISSING_HELP)}))
SYNC_OUTPUT = envelope("AccountSyncOutput", synced_at=serializers.DateTimeField(),
                       positions_count=serializers.IntegerField(), orders_count=serializers.IntegerField(),
                       holdings_count=serializers.IntegerField())
POSITIONS_OUTPUT = envelope("PositionsOutput", account_id=serializers.CharField(), count=serializers.IntegerField(),
                            total_pnl=serializers.FloatField(), day_pnl=serializers.FloatField(),
                            prices_missing=serializers.IntegerField(help_text=PRICES_MISSING_HELP),
                            positions=PositionRowSerializer(many=True))
HOLDINGS_OUTPUT = envelope("HoldingsOutput", account_id=serializers.CharField(), count=serializers.IntegerField(),
                           total_pnl=serializers.FloatField(), total_value=serializers.FloatField(),
                           prices_missing=serializers.IntegerField(help_text=PRICES_MISSING_HELP),
                           holdings=HoldingRowSerializer(many=True))
FUNDS_OUTPUT = envelope("FundsOutput", account_id=serializers.CharField(), funds=serializers.DictField(
    help_text="segment -> {enabled, net, available: {name: amount}, utilised: {name: amount}}"))
