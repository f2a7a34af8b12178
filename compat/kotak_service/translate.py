"""Seed 002's translated order bodies, checked for "the" account: what its broker takes, and its symbol's form."""

from __future__ import annotations

from brokers.adapters.registry import adapter_class, adapter_for
from brokers.domain import OrderChange, OrderRequest
from brokers.models import BrokerConnection
from budhitrade.errors import InvalidInput
from compat.kotak_service import vocabulary as words
from compat.kotak_service.serializers import UnifiedOrderSerializer
from orders.views import OrderChangeSerializer

# Capability flags on BrokerAdapter (brokers/adapters/base.py): each says whether the broker's order calls take
# those values.
CAPABILITIES = {
    "product": ("places_cover_bracket_orders", words.COVER_BRACKET_PRODUCTS,
                "cover and bracket orders (CO, BO)"),
    "validity": ("places_long_validity_orders", words.LONG_VALIDITIES,
                 "validities beyond the day (GTC, EOS, GTD)"),
}


def broker_takes(*, connection: BrokerConnection, order: dict) -> None:
    """400 naming the value where the account's broker does not take a product or validity only some take."""
    cls = adapter_class(connection.broker)
    errors = {}
    for name, (flag, values, what) in CAPABILITIES.items():
        if order.get(name) in values and not getattr(cls, flag):
            errors[name] = [f"{order[name]} is not supported for this account: its broker "
                            f"({connection.broker}) takes no {what} through BudhiTrade."]
    if errors:
        raise InvalidInput(" ".join(messages[0] for messages in errors.values()), errors=errors)


def symbol_resolve(*, connection: BrokerConnection, segment: str, exchange: str, symbol: str) -> str:
    """The form of a cash symbol the account's broker lists (ITC or ITC-EQ), where its listing says; else as
    given (the broker then answers for it)."""
    adapter = adapter_for(connection)
    for form in words.symbol_forms(symbol, segment):
        spec = adapter.instrument_spec(exchange=exchange, tradingsymbol=form)
        if spec is None:
            break
        if spec.known:
            return form
    return symbol.strip().upper()


def order_request(*, connection: BrokerConnection, segment: str, order: dict) -> OrderRequest:
    """The domain's order for seed 002's translated body, by the unified API's rules (errors in seed 002's names)."""
    broker_takes(connection=connection, order=order)
    order = {**order, "tradingsymbol": symbol_resolve(connection=connection, segment=segment,
                                                      exchange=order.get("exchange", ""),
                                                      symbol=order["tradingsymbol"])}
    unified = UnifiedOrderSerializer(data=order)
    if not unified.is_valid():
        errors = {name: [str(message) for message in messages] for name, messages in unified.errors.items()}
        raise InvalidInput("Invalid input.", errors=words.seed_errors(errors))
    return unified.to_request()


def order_change(*, current, change: dict) -> OrderChange:
    """The domain's modification; a disclosed quantity other than the order's own is refused (no broker call
    BudhiTrade makes changes it)."""
    disclosed = change.pop("disclosed_quantity", None)
    if disclosed is not None and disclosed != current.disclosed_quantity:
        raise InvalidInput("disclosed_quantity cannot be changed by a modification; send the order's own "
                           f"({current.disclosed_quantity}).",
                           errors={"disclosed_quantity": [f"Only {current.disclosed_quantity}."]})
    unified = OrderChangeSerializer(data=change)
    if not unified.is_valid():
        errors = {name: [str(message) for message in messages] for name, messages in unified.errors.items()}
        detail = errors.pop("non_field_errors", ["Invalid input."])[0]
        raise InvalidInput(detail, errors=errors or None)
    return OrderChange(**unified.validated_data)
