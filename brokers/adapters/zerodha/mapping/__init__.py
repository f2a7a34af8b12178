"""Kite Connect wire formats to BudhiTrade types: the only package that knows Kite's keys.

One module per concern (values, session, portfolio, orders and postbacks,
instruments, quotes); the adapter reads them all from here.
"""

from brokers.adapters.zerodha.mapping.instruments import INSTRUMENT_EXCHANGES, instruments_from_wire
from brokers.adapters.zerodha.mapping.orders import (
    POSTBACK_UPDATE,
    fills_from_wire,
    order_change_to_wire,
    order_from_postback,
    order_from_wire,
    order_to_wire,
    orders_from_wire,
    postback_checksum_ok,
    variety_to_wire,
)
from brokers.adapters.zerodha.mapping.portfolio import (
    funds_from_wire,
    holding_from_wire,
    holdings_from_wire,
    position_from_wire,
    positions_from_wire,
)
from brokers.adapters.zerodha.mapping.quotes import BATCH_SIZES, quote_call, quote_from_wire, quote_key
from brokers.adapters.zerodha.mapping.session import (
    SESSION_RESET,
    account_id_from_wire,
    login_time_from_wire,
    profile_from_wire,
    session_expiry,
    session_from_wire,
)
from brokers.adapters.zerodha.mapping.values import (
    EXCHANGES,
    IST,
    ORDER_STATUSES,
    ORDER_TYPES,
    PRODUCTS,
    TRANSACTION_TYPES,
    VALIDITIES,
    VARIETIES,
    timestamp_from_wire,
)

__all__ = [
    "BATCH_SIZES", "EXCHANGES", "INSTRUMENT_EXCHANGES", "IST", "ORDER_STATUSES", "ORDER_TYPES", "POSTBACK_UPDATE",
    "PRODUCTS", "SESSION_RESET", "TRANSACTION_TYPES", "VALIDITIES", "VARIETIES",
    "account_id_from_wire", "fills_from_wire", "funds_from_wire", "holding_from_wire", "holdings_from_wire",
    "instruments_from_wire", "login_time_from_wire", "order_change_to_wire", "order_from_postback",
    "order_from_wire", "order_to_wire", "orders_from_wire", "position_from_wire", "positions_from_wire",
    "postback_checksum_ok", "profile_from_wire", "quote_call", "quote_from_wire", "quote_key", "session_expiry",
    "session_from_wire", "timestamp_from_wire", "variety_to_wire",
]
