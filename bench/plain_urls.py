"""The product's URLs plus `/bench/plain-positions/<account_id>`, the baseline of bench/positions_throughput.py.

The baseline is what Django alone costs for the same rows: no DRF, no JWT, no
serializer; the same middleware stack, one query for the rows the API's
`selectors.position_list` reads, the fields of its `PositionRowSerializer`,
money as JSON numbers as the API sends it.

`/bench/plain-orders/<account_id>` is the same for bench/order_book_throughput.py:
one query for an account's orders, newest first, with the fields, money and
times as `GET /accounts/<account_id>/orders` sends them.
"""

from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Coalesce, NullIf
from django.http import JsonResponse
from django.urls import include, path
from django.utils import timezone

from orders.models import Order
from portfolio.models import Position
from portfolio.selectors import POSITION_PRICE_MISSING, condition_flag
from portfolio.serializers import PositionRowSerializer

POSITION_FIELDS = PositionRowSerializer.Meta.fields


class MoneyAsNumberEncoder(DjangoJSONEncoder):
    """Decimals as JSON numbers, as DRF renders them with COERCE_DECIMAL_TO_STRING off."""

    def default(self, o):
        if isinstance(o, Decimal):
            return float(o)
        return super().default(o)


def plain_positions(request, account_id: str):
    rows = list(Position.objects.filter(connection__account_id=account_id)
                .annotate(price_missing=condition_flag(POSITION_PRICE_MISSING)).values(*POSITION_FIELDS))
    return JsonResponse({"account_id": account_id, "count": len(rows), "positions": rows},
                        encoder=MoneyAsNumberEncoder)


ORDER_FIELDS = ["exchange_order_id", "tradingsymbol", "exchange", "transaction_type", "order_type", "product",
                "variety", "validity", "quantity", "pending_quantity", "filled_quantity", "cancelled_quantity",
                "disclosed_quantity", "validity_ttl", "price", "trigger_price", "average_price", "status",
                "status_message", "tag", "order_timestamp", "exchange_timestamp", "exchange_update_timestamp"]
# What the API calls an order: the broker's id, else BudhiTrade's (PostgreSQL casts a uuid to its hyphenated form).
ORDER_ID = Coalesce(NullIf(F("broker_order_id"), Value("")), Cast("id", CharField()))


def plain_orders(request, account_id: str):
    """Money as floats (the average price to 2 places) and times as ISO 8601 in the current time zone, converted
    in the loop rather than per value in the encoder: the cheapest plain view of these rows."""
    zone = timezone.get_current_timezone()
    rows = list(Order.objects.filter(connection__account_id=account_id).order_by("-created_at")
                .values(*ORDER_FIELDS, order_id=ORDER_ID))
    for row in rows:
        row["average_price"] = round(float(row["average_price"]), 2)
        for name in ("price", "trigger_price"):
            if row[name] is not None:
                row[name] = float(row[name])
        for name in ("order_timestamp", "exchange_timestamp", "exchange_update_timestamp"):
            if row[name] is not None:
                row[name] = row[name].astimezone(zone).isoformat()
    return JsonResponse({"account_id": account_id, "count": len(rows), "orders": rows}, encoder=MoneyAsNumberEncoder)


urlpatterns = [
    path("bench/plain-positions/<str:account_id>", plain_positions, name="bench-plain-positions"),
    path("bench/plain-orders/<str:account_id>", plain_orders, name="bench-plain-orders"),
    path("", include("budhitrade.urls")),
]
