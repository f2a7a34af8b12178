"""Seed 001's order body as the domain's order, by the unified API's rules, for "the" account.

Seed 002's checks are the ones used (compat/kotak_service/translate.py):
what the account's broker takes (GTC only where its adapter's
`places_long_validity_orders` says so), the form of a cash symbol its
listing has (ITC or ITC-EQ), and the unified order body's rules; errors are
renamed to seed 001's fields.
"""

from __future__ import annotations

from brokers.domain import OrderRequest
from brokers.models import BrokerConnection
from budhitrade.errors import InvalidInput
from compat.kotak_integration import vocabulary as words
from compat.kotak_service import translate as seed_002
from compat.kotak_service.serializers import UnifiedOrderSerializer


def _seed_named(error: InvalidInput) -> InvalidInput:
    return InvalidInput(error.detail, errors=words.seed_errors(error.errors))


def order_request(*, connection: BrokerConnection, order: dict) -> OrderRequest:
    """The domain's order for seed 001's body (PlaceInputSerializer's validated data)."""
    segment = order["exchange"]
    exchange = words.ORDER_SEGMENTS[segment]
    unified = {"exchange": exchange, "transaction_type": order["transaction_type"], "quantity": order["quantity"],
               "order_type": order["order_type"], "product": order["product_type"], "validity": order["validity"]}
    if order.get("price"):  # 0 is seed 001's "no price"
        unified["price"] = order["price"]
    try:
        seed_002.broker_takes(connection=connection, order=unified)
    except InvalidInput as error:
        raise _seed_named(error) from error
    unified["tradingsymbol"] = seed_002.symbol_resolve(connection=connection, segment=segment, exchange=exchange,
                                                       symbol=order["symbol"])
    serializer = UnifiedOrderSerializer(data=unified)
    if not serializer.is_valid():
        raise InvalidInput("Invalid input.", errors=words.seed_errors(serializer.errors))
    return serializer.to_request()

