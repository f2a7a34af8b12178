"""Every real Kite body in resources/ through the real kiteconnect SDK and ZerodhaAdapter, checked value by value.

Each case is one line in REAL_BODIES: the file and what Kite answers with it.
The checks read the expected values straight from the body, so a new real
body (a newer kiteconnect-mocks version, a recorded answer) needs no more.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from brokers.adapters.zerodha.adapter import ZerodhaAdapter
from brokers.adapters.zerodha.mapping import IST
from brokers.domain import (
    ConnectionStatus,
    FundsSegment,
    OrderChange,
    OrderRequest,
    OrderStatus,
    QuoteInstrument,
    QuoteKind,
)
from brokers.tests.fixtures import ADAPTER_TESTS, wire_body

SECRET = "kitesecret456"  # the test API secret that signs postbacks
CREDENTIALS = {"api_key": "kitekey123", "api_secret": SECRET}
SESSION = {"access_token": "kAcc3ssT0kenValue9"}

REAL_BODIES = [
    ("portfolio_holdings.json", "holdings"),
    ("history/holdings@50f6a14.json", "holdings"),
    ("history/holdings@a9b6449.json", "holdings"),
    ("history/holdings@e1987f4.json", "holdings"),
    ("portfolio_positions.json", "positions"),
    ("user_margins.json", "funds"),
    ("history/margins@e2b9fa8.json", "funds"),
    ("history/user_margins@pr36.json", "funds"),
    ("orders.json", "orders"),
    ("history/orders@24cae09.json", "orders"),
    ("history/orders@42ef31b.json", "orders"),
    ("history/orders@46e98e7.json", "orders"),
    ("history/orders@5cb510c.json", "orders"),
    ("history/orders@a51a14a.json", "orders"),
    ("history/orders@cc7070a.json", "orders"),
    ("order_history.json", "order_history"),
    ("history/order_info@05d9073.json", "order_history"),
    ("trades.json", "trades"),
    ("history/trades@c5a0950.json", "trades"),
    ("postback.json", "postback"),
    ("postback_update.json", "postback"),
    ("history/postback@1a61fa3.json", "postback"),
    ("history/postback@5305cc8.json", "postback"),
    ("history/postback@8caf1e4.json", "postback"),
    ("quote.json", "quote"),
    ("ohlc.json", "ohlc"),
    ("ltp.json", "ltp"),
    ("session_token_success.json", "session"),
    ("history/generate_session@dfdda4a.json", "session"),
    ("orders_place_success.json", "place"),
    ("orders_modify_success.json", "modify"),
    ("orders_cancel_success.json", "cancel"),
    ("instruments_all.csv", "instruments"),
    ("instruments_nse.csv", "instruments"),
]

# BudhiTrade's reading of each status Kite's books show (kite.trade/docs/connect/v3/orders).
BOOK_STATUSES = {
    "COMPLETE": OrderStatus.COMPLETE, "CANCELLED": OrderStatus.CANCELLED, "REJECTED": OrderStatus.REJECTED,
    "OPEN": OrderStatus.OPEN, "TRIGGER PENDING": OrderStatus.TRIGGER_PENDING,
    "PUT ORDER REQ RECEIVED": OrderStatus.PENDING, "VALIDATION PENDING": OrderStatus.PENDING,
    "OPEN PENDING": OrderStatus.PENDING, "MODIFY VALIDATION PENDING": OrderStatus.OPEN,
    "MODIFY PENDING": OrderStatus.OPEN, "MODIFIED": OrderStatus.OPEN, "AMO REQ RECEIVED": OrderStatus.OPEN,
}


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def ist(value: str | None) -> datetime | None:
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST) if value else None


def adapter() -> ZerodhaAdapter:
    # Each case its own account, so no case waits on another's quote budget.
    return ZerodhaAdapter(credentials=CREDENTIALS, session=SESSION, account_id=f"RB{uuid.uuid4().hex[:8]}")


def check_holdings(kite_wire, body):
    kite_wire.reply("GET", "/portfolio/holdings", body.name)
    holdings = adapter().holdings()
    assert len(holdings) == len(body.data) > 0
    for row, holding in zip(body.data, holdings):
        held = row["quantity"] + row.get("t1_quantity", 0)
        assert (holding.tradingsymbol, holding.exchange, holding.isin) == (row["tradingsymbol"], row["exchange"], row["isin"])
        assert (holding.quantity, holding.t1_quantity) == (row["quantity"], row.get("t1_quantity", 0))
        assert (holding.average_price, holding.last_price, holding.close_price) == (
            dec(row["average_price"]), dec(row["last_price"]), dec(row["close_price"]))
        assert (holding.pnl, holding.day_change) == (dec(row["pnl"]), dec(row["day_change"]))
        assert holding.market_value == dec(row["last_price"]) * held
        assert holding.holding_cost == dec(row["average_price"]) * held
        assert holding.sellable_quantity == (held - row["used_quantity"] if "used_quantity" in row else None)
        assert (holding.instrument_token, holding.product) == (str(row["instrument_token"]), row["product"])


def check_positions(kite_wire, body):
    kite_wire.reply("GET", "/portfolio/positions", body.name)
    positions = adapter().positions()
    net = body.data["net"]
    assert len(positions) == len(net) > 0
    for row, position in zip(net, positions):
        assert (position.tradingsymbol, position.exchange, position.product, position.quantity) == (
            row["tradingsymbol"], row["exchange"], row["product"], row["quantity"])
        assert (position.multiplier, position.value, position.last_price) == (
            dec(row["multiplier"]), dec(row["value"]), dec(row["last_price"]))
        assert (position.pnl, position.m2m, position.day_pnl) == (dec(row["pnl"]), dec(row["m2m"]), dec(row["m2m"]))
        assert (position.realised, position.unrealised) == (dec(row["realised"]), dec(row["unrealised"]))
        assert (position.buy_quantity, position.sell_quantity, position.overnight_quantity) == (
            row["buy_quantity"], row["sell_quantity"], row["overnight_quantity"])
        assert position.instrument_token == str(row["instrument_token"])


def check_funds(kite_wire, body):
    kite_wire.reply("GET", "/user/margins", body.name)
    funds = {f.segment: f for f in adapter().funds()}
    assert set(funds) == {FundsSegment.EQUITY, FundsSegment.COMMODITY}
    for segment in funds.values():
        wire = body.data[segment.segment.value]
        assert (segment.enabled, segment.net) == (wire["enabled"], dec(wire["net"]))
        for key, amount in wire["available"].items():
            assert segment.available[key] == dec(amount)
        for key, amount in wire["utilised"].items():
            assert segment.utilised[key] == dec(amount)


def _check_order_rows(rows, orders):
    assert len(orders) == len(rows) > 0
    for row, order in zip(rows, orders):
        assert order.broker_order_id == row["order_id"] and order.status == BOOK_STATUSES[row["status"]]
        assert (order.exchange, order.tradingsymbol, order.product, order.variety, order.validity) == (
            row["exchange"], row["tradingsymbol"], row["product"], row["variety"], row["validity"])
        # A finished order has nothing pending; a cancelled one's unfilled quantity was cancelled.
        finished = row["status"] in ("COMPLETE", "REJECTED", "CANCELLED")
        cancelled = row.get("cancelled_quantity", 0)
        if row["status"] == "CANCELLED":
            cancelled = max(cancelled, row["quantity"] - row["filled_quantity"])
        assert (order.quantity, order.filled_quantity, order.pending_quantity) == (
            row["quantity"], row["filled_quantity"], 0 if finished else row["pending_quantity"])
        assert (order.cancelled_quantity, order.disclosed_quantity) == (cancelled, row.get("disclosed_quantity", 0))
        assert order.validity_ttl == (row.get("validity_ttl") if row["validity"] == "TTL" else None)
        assert (order.price, order.trigger_price, order.average_price) == (
            dec(row["price"]), dec(row["trigger_price"]), dec(row["average_price"]))
        assert (order.order_timestamp, order.exchange_timestamp, order.exchange_update_timestamp) == (
            ist(row["order_timestamp"]), ist(row["exchange_timestamp"]), ist(row.get("exchange_update_timestamp")))
        assert (order.exchange_order_id, order.tag) == (row["exchange_order_id"] or "", row.get("tag") or "")
        assert order.status_message == (row.get("status_message") or "")


def check_orders(kite_wire, body):
    kite_wire.reply("GET", "/orders", body.name)
    _check_order_rows(body.data, adapter().orders())


def check_order_history(kite_wire, body):
    order_id = body.data[0]["order_id"]
    kite_wire.reply("GET", f"/orders/{order_id}", body.name)
    _check_order_rows(body.data, adapter().order_history(order_id))


def check_trades(kite_wire, body):
    kite_wire.reply("GET", "/trades", body.name)
    fills = adapter().trades()
    assert len(fills) == len(body.data) > 0
    for row, fill in zip(body.data, fills):
        assert (fill.trade_id, fill.broker_order_id, fill.exchange_order_id) == (
            row["trade_id"], row["order_id"], row["exchange_order_id"])
        assert (fill.exchange, fill.tradingsymbol, fill.product, fill.transaction_type) == (
            row["exchange"], row["tradingsymbol"], row["product"], row["transaction_type"])
        assert (fill.quantity, fill.price) == (row["quantity"], dec(row["average_price"]))
        assert (fill.fill_timestamp, fill.exchange_timestamp) == (
            ist(row.get("fill_timestamp")), ist(row["exchange_timestamp"]))


def check_postback(kite_wire, body):
    payload = dict(body.raw)  # Kite's published checksums are truncated or for its own secret: sign with ours
    payload["checksum"] = hashlib.sha256(f"{payload['order_id']}{payload['order_timestamp']}{SECRET}".encode()).hexdigest()
    order = adapter().order_from_push(payload)
    working = payload["status"] == "UPDATE"
    assert order.status == (OrderStatus.OPEN if working else BOOK_STATUSES[payload["status"]])
    assert (order.broker_order_id, order.exchange_order_id) == (payload["order_id"], payload["exchange_order_id"])
    assert (order.quantity, order.filled_quantity, order.pending_quantity, order.cancelled_quantity) == (
        payload["quantity"], payload["filled_quantity"], payload["pending_quantity"], payload["cancelled_quantity"])
    assert (order.average_price, order.price) == (dec(payload["average_price"]), dec(payload["price"]))
    assert (order.order_timestamp, order.exchange_update_timestamp) == (
        ist(payload["order_timestamp"]), ist(payload["exchange_update_timestamp"]))


def _check_quotes(kite_wire, body, path, kind):
    kite_wire.reply("GET", path, body.name)
    asked = [QuoteInstrument(exchange=key.split(":")[0], tradingsymbol=key.split(":")[1]) for key in body.data]
    quotes = adapter().quotes(asked, kind)
    assert [q.instrument.tradingsymbol for q in quotes] == [i.tradingsymbol for i in asked]
    for key, quote in zip(body.data, quotes):
        wire = body.data[key]
        assert (quote.last_price, quote.instrument.token) == (dec(wire["last_price"]), str(wire["instrument_token"]))
        ohlc = wire.get("ohlc")
        assert (quote.open, quote.high, quote.low, quote.close) == (
            tuple(dec(ohlc[k]) for k in ("open", "high", "low", "close")) if ohlc else (None,) * 4)
        assert (quote.week_52_high, quote.week_52_low) == (None, None)  # Kite's quote has no 52-week range
        assert quote.received_at.tzinfo is not None
        depth = wire.get("depth") or {}
        assert [(b.price, b.quantity, b.orders) for b in quote.bids + quote.asks] == [
            (dec(level["price"]), level["quantity"], level["orders"])
            for level in depth.get("buy", []) + depth.get("sell", []) if level["price"] or level["quantity"]]
        assert (quote.volume, quote.oi, quote.upper_circuit, quote.lower_circuit) == (
            wire.get("volume"), wire.get("oi"),
            dec(wire["upper_circuit_limit"]) if "upper_circuit_limit" in wire else None,
            dec(wire["lower_circuit_limit"]) if "lower_circuit_limit" in wire else None)
        assert (quote.exchange_timestamp, quote.last_trade_at) == (
            ist(wire.get("timestamp")), ist(wire.get("last_trade_time")))
    return quotes


def check_quote(kite_wire, body):
    _check_quotes(kite_wire, body, "/quote", QuoteKind.ALL)


def check_ohlc(kite_wire, body):
    _check_quotes(kite_wire, body, "/quote/ohlc", QuoteKind.OHLC)


def check_ltp(kite_wire, body):
    _check_quotes(kite_wire, body, "/quote/ltp", QuoteKind.LTP)


def check_session(kite_wire, body):
    kite_wire.reply("POST", "/session/token", body.name)
    step = ZerodhaAdapter(credentials=CREDENTIALS, session={}).login_complete(secret="reqTok42")
    assert (step.status, step.account_id) == (ConnectionStatus.CONNECTED, body.data["user_id"].upper())
    assert step.session["access_token"] == body.data["access_token"]
    assert step.profile["user_name"] == body.data["user_name"]
    assert step.expires_at.tzinfo is not None and step.expires_at.astimezone(IST).hour == 6


def check_place(kite_wire, body):
    kite_wire.reply("POST", "/orders/regular", body.name)
    order = OrderRequest(tradingsymbol="SBIN", exchange="NSE", transaction_type="BUY", order_type="MARKET",
                         product="CNC", quantity=1)
    assert adapter().order_place(order) == body.data["order_id"]


def check_modify(kite_wire, body):
    order_id = body.data["order_id"]
    kite_wire.reply("PUT", f"/orders/regular/{order_id}", body.name)
    assert adapter().order_modify(order_id, OrderChange(quantity=2)) == order_id


def check_cancel(kite_wire, body):
    order_id = body.data["order_id"]
    kite_wire.reply("DELETE", f"/orders/regular/{order_id}", body.name)
    assert adapter().order_cancel(order_id) == order_id


def check_instruments(kite_wire, body):
    kite_wire.reply_csv("/instruments", body.name)
    listed = adapter().instruments().instruments
    rows = [row for row in csv.DictReader(io.StringIO(body.text))
            if row["exchange"] in ("NSE", "BSE", "NFO", "BFO", "MCX")]
    assert len(listed) == len(rows) > 0
    for row, instrument in zip(rows, listed):
        assert (instrument.exchange, instrument.tradingsymbol, instrument.token) == (
            row["exchange"], row["tradingsymbol"], row["instrument_token"])
        assert (instrument.instrument_type, instrument.lot_size, instrument.tick_size) == (
            "INDEX" if row["segment"] == "INDICES" else row["instrument_type"], int(row["lot_size"]),
            dec(row["tick_size"]))
        assert instrument.strike == dec(row["strike"])
        assert instrument.expiry == (datetime.strptime(row["expiry"], "%Y-%m-%d").date() if row["expiry"] else None)


CHECKS = {
    "holdings": check_holdings, "positions": check_positions, "funds": check_funds, "orders": check_orders,
    "order_history": check_order_history, "trades": check_trades, "postback": check_postback,
    "quote": check_quote, "ohlc": check_ohlc, "ltp": check_ltp, "session": check_session,
    "place": check_place, "modify": check_modify, "cancel": check_cancel, "instruments": check_instruments,
}


class Body:
    """A resource file: its name, text and (for JSON) the whole body and its "data"."""

    def __init__(self, name: str):
        self.name = name
        self.text = (ADAPTER_TESTS / "zerodha" / "resources" / name).read_text()
        if name.endswith(".json"):
            self.raw = wire_body("zerodha", name)
            self.data = self.raw.get("data", self.raw)


@pytest.mark.parametrize("name,kind", REAL_BODIES, ids=[name for name, _ in REAL_BODIES])
def test_a_real_kite_body_maps_to_its_own_values(kite_wire, name, kind):
    CHECKS[kind](kite_wire, Body(name))

    if kind != "postback":  # a postback is posted to BudhiTrade; every other body is Kite's answer to the SDK
        assert kite_wire.mock.calls
