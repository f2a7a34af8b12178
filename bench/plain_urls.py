"""The product's URLs plus `/bench/plain-positions/<account_id>`, the baseline of bench/positions_throughput.py.

The baseline is what Django alone costs for the same rows: no DRF, no JWT, no
serializer; the same middleware stack, one query for the rows the API's
`selectors.position_list` reads, the fields of its `PositionRowSerializer`,
money as JSON numbers as the API sends it.
"""

from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse
from django.urls import include, path

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


urlpatterns = [
    path("bench/plain-positions/<str:account_id>", plain_positions, name="bench-plain-positions"),
    path("", include("budhitrade.urls")),
]
