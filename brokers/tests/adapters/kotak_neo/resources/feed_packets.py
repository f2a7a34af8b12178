"""Writes the SFeed binary packets feed_*.packet from real Kotak values, packed with the SDK's own layouts.

Kotak publishes no captured SFeed packet. The SDK (kotakneoapi 3.0.9) has
decoders only, so each packet is packed here with the struct layouts its
decoder reads (neo_api_client.websocket.feed.protocol: _HEADER, _MP_BODY,
_MINI_BODY, _INDEX_BODY, _DEPTH_ROW), the way the SDK's own tests build
theirs. Prices are in paise (nse_cm's divider is 100 in Kotak's auth answer).
Values and their sources are in README.md. Run from the repository root:

    .venv/bin/python brokers/tests/adapters/kotak_neo/resources/feed_packets.py
"""

from __future__ import annotations

import json
from pathlib import Path

from neo_api_client.websocket.feed import protocol

HERE = Path(__file__).parent
NSE_CM = 1  # Exchange.NSE_CM, the header's exchange_id


def paise(rupees: str) -> int:
    return round(float(rupees) * 100)


def header(length: int, code: int, level: int) -> bytes:
    # message_length, message_code, exchange_id, level, auction_flag, seq_no, bitmask_length
    return protocol._HEADER.pack(length, code, NSE_CM, level, 0, 0, 0)


def market_picture(quote: dict, *, level: int, rows: int) -> bytes:
    """A touch line (level 4, one row a side) or depth (level 8, five) packet of quotes_success.json's quote."""
    ohlc, depth = quote["ohlc"], quote["depth"]
    body = protocol._MP_BODY.pack(
        int(quote["exchange_token"]),
        int(quote["total_buy"]), int(quote["total_sell"]), int(quote["last_volume"]),
        int(quote["lstup_time"]),  # last_trade_time: the quote has only its last update time
        int(quote["lstup_time"]),  # last_update_time
        paise(ohlc["open"]), paise(ohlc["close"]), paise(ohlc["high"]), paise(ohlc["low"]),
        paise(quote["ltp"]), int(quote["last_traded_quantity"]), paise(quote["avg_cost"]),
        0,  # indicative close: none outside the closing session
        rows, rows,  # buy and sell depth counts
        0,  # trading status
        round(float(quote["per_change"]) * 100),
        int(quote["open_int"]),
        float(int(quote["last_volume"]) * paise(quote["avg_cost"])),  # total traded value, in paise
        paise(quote["change"]),
        paise(quote["high_price_range"]), paise(quote["low_price_range"]),
        paise(quote["year_high"]), paise(quote["year_low"]),
        1, 2, 1,  # market lot, precision, multiplier (an NSE equity)
    )
    book = b"".join(
        protocol._DEPTH_ROW.pack(int(row["quantity"]), paise(row["price"]), int(row["orders"]))
        for side in ("buy", "sell") for row in depth[side][:rows]
    )
    payload = body + book
    return header(protocol.HEADER_SIZE + len(payload), protocol.MSG_MARKET_PICTURE, level) + payload


def mini_touch_line() -> bytes:
    """The next trade of the same quote: 550 shares at its best ask, 801.65, one second after its update."""
    body = protocol._MINI_BODY.pack(1333, 1782374658, paise("801.65"), 550, paise("793.20"), 107, paise("8.45"),
                                    1, 2, 1)
    return header(protocol.HEADER_SIZE + len(body), protocol.MSG_MARKET_PICTURE, 1) + body


def nifty_50() -> bytes:
    """Nifty 50 as the SDK's tests decode it from the feed (test_feed_client_lifecycle.py)."""
    body = protocol._INDEX_BODY.pack(
        4247863880,  # the numeric token the feed streams the index under
        2457510, 2458380, 2457685, 2442925,  # open, close, high, low
        2447170,  # index value 24471.70
        1786442392,  # last trade time
        2637320, 2218255,  # 52-week high, low
        -46,  # net change -0.46 %
        0.0,  # market cap: not in the SDK's message
        2, 1,  # precision, multiplier (the SDK shows 1/divider = 0.01)
        b"Nifty 50",
    )
    return header(protocol.HEADER_SIZE + len(body), protocol.MSG_INDEX, 0) + body


def main() -> None:
    (quote,) = json.loads((HERE / "quotes_success.json").read_text())
    packets = {
        "feed_touchline_hdfcbank.packet": market_picture(quote, level=4, rows=1),
        "feed_depth_hdfcbank.packet": market_picture(quote, level=8, rows=5),
        "feed_mini_touchline_hdfcbank.packet": mini_touch_line(),
        "feed_index_nifty_50.packet": nifty_50(),
    }
    for name, packet in packets.items():
        (HERE / name).write_bytes(packet)


if __name__ == "__main__":
    main()
