"""Kotak Neo wire formats to BudhiTrade types: the only package that knows Neo's keys.

By concern: `answers` (success, error, session, "No Data", login), `codes`
(exchange segments, products, scalar values), `portfolio` (holdings,
positions, funds, limits), `orders` (orders, history, trades, feed updates
and their codes), `instruments` (the scrip master), `quotes` and `ticks`
(the SFeed market feed's packets, merged per instrument).
"""

from brokers.adapters.kotak_neo.mapping.answers import (  # noqa: F401
    NO_DATA_CODES,
    SESSION_ERROR_CODES,
    SESSION_ERROR_TEXT,
    account_id_from_login,
    error_message,
    history_body,
    is_broker_answer,
    is_no_data,
    is_session_error,
    is_success,
    login_data,
    order_refusal_message,
    profile_from_login,
    rows,
    session_expiry,
)
from brokers.adapters.kotak_neo.mapping.codes import (  # noqa: F401
    EXCHANGES,
    PRODUCTS,
    epoch_from_wire,
    exchange_from_wire,
    exchange_to_wire,
    product_from_wire,
    product_to_wire,
    timestamp_from_wire,
)
from brokers.adapters.kotak_neo.mapping.instruments import (  # noqa: F401
    INSTRUMENT_SEGMENTS,
    SKIPPED_SEGMENTS,
    instruments_from_scrip_master,
    scrip_master_answer,
    scrip_master_day,
    scrip_master_files,
)
from brokers.adapters.kotak_neo.mapping.orders import (  # noqa: F401
    ORDER_STATUSES,
    fills_from_wire,
    order_change_to_wire,
    order_history_from_wire,
    order_id_from_wire,
    order_progress_from_feed,
    order_row,
    order_status_from_wire,
    order_to_wire,
    orders_from_wire,
    variety_to_wire,
)
from brokers.adapters.kotak_neo.mapping.portfolio import (  # noqa: F401
    funds_from_wire,
    holdings_from_wire,
    limits_filters_to_wire,
    limits_from_wire,
    position_instruments,
    positions_from_wire,
    positions_need_holdings,
)
from brokers.adapters.kotak_neo.mapping.quotes import (  # noqa: F401
    QUOTES_PER_CALL,
    ltps_from_wire,
    quote_from_wire,
    quote_instruments_to_wire,
    quote_rows_from_wire,
    quote_tokens_to_wire,
    quote_type_to_wire,
    quotes_answer,
)
from brokers.adapters.kotak_neo.mapping.ticks import (  # noqa: F401
    FEED_INTENTS,
    INDEX_INTENT,
    TickBook,
    feed_intent,
    stream_token_to_wire,
)
