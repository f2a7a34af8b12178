"""Kite's ticker ticks (as kiteconnect's KiteTicker decodes the binary packets) as BudhiTrade's Quote.

KiteTicker hands over a dict per packet with its own names
(`volume_traded`, `average_traded_price`, `total_buy_quantity`…), prices as
floats already divided by the segment's divisor, and times as naive
datetimes in the process's local time (`datetime.fromtimestamp`). Kite's
modes decide what a tick holds: `ltp` the last price only, `quote` the day's
OHLC, volume and quantities, `full` also OI, trade and exchange times and
five levels of depth. Index ticks (segment 9) never carry depth or volume.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from brokers.adapters.base import BrokerError
from brokers.adapters.zerodha.mapping.quotes import prices_from_wire
from brokers.adapters.zerodha.mapping.values import IST, count_or_none, price
from brokers.domain import Quote, QuoteInstrument
from brokers.market.keys import StreamMode

# Kite's exchange segment, the low byte of every instrument_token (kiteconnect's KiteTicker.EXCHANGE_MAP):
# the segments BudhiTrade trades. 8 (MCX-SX) and 12 (NCO) are Kite's too, but not BudhiTrade's.
SEGMENT_EXCHANGES = {1: "NSE", 2: "NFO", 3: "CDS", 4: "BSE", 5: "BFO", 6: "BCD", 7: "MCX"}
INDICES_SEGMENT = 9  # NSE's and BSE's indices alike: the token alone does not say which exchange

# Kite's subscription modes (KiteTicker.MODE_LTP, MODE_QUOTE, MODE_FULL) for BudhiTrade's stream modes.
MODES = {StreamMode.LTP: "ltp", StreamMode.QUOTE: "quote", StreamMode.DEPTH: "full"}


def tick_token(tick: dict[str, Any]) -> int:
    return int(tick["instrument_token"])


def tick_exchange(instrument_token: int, *, subscribed: str | None) -> str:
    """The exchange of a tick: that of the instrument it was subscribed as, else the token's segment.

    An index's segment (9) names no exchange, and a segment BudhiTrade does
    not trade is no exchange of its own: both raise BrokerError.
    """
    if subscribed:
        return subscribed
    segment = instrument_token & 0xFF
    try:
        return SEGMENT_EXCHANGES[segment]
    except KeyError:
        raise BrokerError(f"Zerodha streamed token {instrument_token} of segment {segment}, "
                          "whose exchange BudhiTrade cannot tell.") from None


def tick_time(value: datetime | None) -> datetime | None:
    """KiteTicker's naive local time (`datetime.fromtimestamp` of Kite's epoch seconds) as an aware IST time."""
    if value is None:
        return None
    return value.astimezone(IST) if value.tzinfo is None else value


def quote_from_tick(tick: dict[str, Any], *, exchange: str, received_at: datetime) -> Quote:
    """One decoded tick as a Quote; what its mode (or an index) does not carry stays None, depth empty.

    The change is last price minus the previous close, as for Kite's REST
    quotes (KiteTicker's own `change` is a percentage).
    """
    return Quote(
        instrument=QuoteInstrument(exchange=exchange, token=str(tick_token(tick))),
        received_at=received_at,
        **prices_from_wire(tick),
        volume=count_or_none(tick.get("volume_traded")),
        average_price=price(tick.get("average_traded_price")),
        last_quantity=count_or_none(tick.get("last_traded_quantity")),
        buy_quantity=count_or_none(tick.get("total_buy_quantity")),
        sell_quantity=count_or_none(tick.get("total_sell_quantity")),
        last_trade_at=tick_time(tick.get("last_trade_time")),
        exchange_timestamp=tick_time(tick.get("exchange_timestamp")),
    )
