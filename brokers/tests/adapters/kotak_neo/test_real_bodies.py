"""Every real Kotak Neo body in resources/ through the real SDK and KotakNeoAdapter, checked field by field.

A body Kotak publishes (its SDK docs, the older SDK's docs, a body quoted in
an issue on its repositories: resources/README.md names each) is one line
below: the file, the adapter call it answers, and the mapped values expected
(a path into the result, `len` for its length; `raises` for the error).
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from brokers.adapters.base import BrokerAuthRejected, BrokerError, BrokerOrderRejected, BrokerSessionExpired
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.calendar import IST
from brokers.domain import ConnectionStatus, OrderChange, OrderRequest, OrderStatus, QuoteInstrument
from brokers.tests.fixtures import NEO_LOGIN_HOST, NEO_TRADE_HOST

CREDENTIALS = {"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"}
TRADE_SESSION = {"edit_token": "eyJ.trade", "edit_sid": "sid-2", "edit_rid": "rid-2", "base_url": NEO_TRADE_HOST,
                 "ucc": "AB123"}
VIEW_SESSION = {"view_token": "eyJ.view", "sid": "sid-1", "ucc": "AB123"}
IDEA_BUY = OrderRequest(tradingsymbol="IDEA-EQ", exchange="NSE", transaction_type="BUY", order_type="LIMIT",
                        product="NRML", quantity=1, price=Decimal("9.39"))
OPEN_ORDER = "250122000612876"

# call: (HTTP method, path the body answers, what the adapter is asked, session)
CALLS = {
    "holdings": ("GET", "/portfolio/v1/holdings", lambda a: a.holdings(), TRADE_SESSION),
    "positions": ("GET", "/portfolio/v2/positions", lambda a: a.positions(), TRADE_SESSION),
    "funds": ("POST", "/quick/user/limits", lambda a: a.funds(), TRADE_SESSION),
    "orders": ("GET", "/quick/user/orders", lambda a: a.orders(), TRADE_SESSION),
    "history": ("POST", "/quick/order/history", lambda a: a.order_history("250122000624384"), TRADE_SESSION),
    "trades": ("GET", "/quick/user/trades", lambda a: a.trades(), TRADE_SESSION),
    "place": ("POST", "/quick/order/rule/ms/place", lambda a: a.order_place(IDEA_BUY), TRADE_SESSION),
    "modify": ("POST", "/quick/order/vr/modify",
               lambda a: a.order_modify(OPEN_ORDER, OrderChange(price=Decimal("9.45"))), TRADE_SESSION),
    "cancel": ("POST", "/quick/order/cancel", lambda a: a.order_cancel(OPEN_ORDER), TRADE_SESSION),
    "quotes": ("GET", "/script-details/1.0/quotes/neosymbol/nse_cm|1333/all",
               lambda a: a.quotes([QuoteInstrument(exchange="NSE", token="1333")]), TRADE_SESSION),
    "instruments": (None, None, lambda a: a.instruments(), TRADE_SESSION),
    "login": ("POST", f"{NEO_LOGIN_HOST}/login/1.0/tradeApiLogin", lambda a: a.login_start(otp="123456"), {}),
    "verify": ("POST", f"{NEO_LOGIN_HOST}/login/1.0/tradeApiValidate", lambda a: a.login_complete(secret="654321"),
               VIEW_SESSION),
}


def ist(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=IST)


D = Decimal
REAL_BODIES = [
    ("holdings_success.json", "holdings", {"len": 1, "0.tradingsymbol": "IDEA", "0.pnl": D("-7.3475"),
                                           "0.market_value": D("327.6"), "0.holding_cost": D("334.9475"),
                                           "0.sellable_quantity": 35, "0.last_price": D("9.36"), "0.day_change": None}),
    ("holdings_alternate_scrip.json", "holdings", {"len": 2, "0.exchange": "NSE", "0.pnl": D("-5.49"),
                                                   "1.tradingsymbol": "CESC", "1.quantity": 2,
                                                   "1.instrument_token": "628"}),
    ("positions_success.json", "positions", {"len": 1, "0.tradingsymbol": "TCS26JULFUT", "0.quantity": 225,
                                             "0.average_price": D("2112.0"), "0.last_price": None, "0.pnl": None,
                                             "0.unrealised": None, "0.realised": D("0"), "0.multiplier": D("1")}),
    ("positions_closed.json", "positions", {"0.tradingsymbol": "BANKNIFTY21JULFUT", "0.quantity": 0,
                                            "0.buy_quantity": 25, "0.sell_quantity": 25, "0.pnl": D("0"),
                                            "0.realised": D("0"), "0.last_price": None}),
    ("positions_trade_row_doc_error.json", "positions", {"0.tradingsymbol": "IDEA-EQ", "0.exchange": "NSE",
                                                         "0.product": "NRML", "0.quantity": 0, "0.value": D("0")}),
    ("limits_success.json", "funds", {"0.net": D("19.409999999999997"), "0.available.cash": D("38.19"),
                                      "0.utilised.debits": D("18.78")}),
    ("limits_mtf_client.json", "funds", {"0.net": D("9811974.99"), "0.available.cash": D("10000000.00"),
                                         "0.utilised.debits": D("188025.01"), "0.utilised.span": D("58881.00")}),
    ("limits_empty_account.json", "funds", {"0.net": D("0"), "0.available.cash": D("0")}),
    ("orders_book_success.json", "orders", {"len": 1, "0.status": OrderStatus.OPEN, "0.pending_quantity": 1,
                                            "0.exchange_timestamp": ist(2025, 1, 22, 14, 28, 1),
                                            "0.exchange_update_timestamp": ist(2025, 1, 22, 14, 28, 1)}),
    ("orders_book_rejected.json", "orders", {"len": 2, "0.status": OrderStatus.REJECTED, "0.order_type": "MARKET",
                                             "0.exchange_order_id": "", "1.broker_order_id": "220621000000097"}),
    ("order_history_success.json", "history", {"len": 5, "0.status": OrderStatus.PENDING, "4.status": "COMPLETE",
                                               "4.average_price": D("9.39"),
                                               "4.exchange_timestamp": ist(2025, 1, 22, 14, 32, 53)}),
    ("trades_book_success.json", "trades", {"len": 2, "0.trade_id": "207983744", "0.price": D("9.39"),
                                            "1.exchange_timestamp": ist(2025, 1, 22, 14, 32, 53)}),
    ("trades_book_three_fills.json", "trades", {"len": 3, "0.tradingsymbol": "AXISBANK-EQ", "0.quantity": 5,
                                                "0.product": "CNC", "2.price": D("644.65"),
                                                "2.exchange_timestamp": ist(2022, 6, 21, 14, 7, 50)}),
    ("order_place_success.json", "place", {"": OPEN_ORDER}),
    ("order_place_no_number.json", "place", {"raises": (BrokerError, "sent no order number")}),
    ("order_place_rejected.json", "place", {"raises": (BrokerOrderRejected, "invalid  access type")}),
    ("order_place_duplicate_tag.json", "place", {"raises": (BrokerOrderRejected, "Client OrderID already exists")}),
    ("order_place_body_invalid.json", "place", {"raises": (BrokerOrderRejected, "body invalid")}),
    ("order_modify_success.json", "modify", {"": OPEN_ORDER}),
    ("order_cancel_success.json", "cancel", {"": OPEN_ORDER}),
    ("order_cancel_completed.json", "cancel", {"raises": (BrokerOrderRejected, "order is completed")}),
    ("quotes_success.json", "quotes", {"len": 1, "0.last_price": D("801.6000"), "0.close": D("793.2000"),
                                       "0.bids.4.quantity": 723, "0.week_52_low": D("726.65")}),
    ("scrip_master_file_paths.json", "instruments", {"published_on": date(2026, 12, 1), "instruments.len": 14}),
    ("scrip_master_file_paths_old.json", "instruments", {"published_on": date(2025, 1, 22), "instruments.len": 14}),
    ("login_totp_success.json", "login", {"status": ConnectionStatus.PENDING_MPIN, "account_id": "AB123"}),
    ("login_totp_missing_field.json", "login", {"raises": (BrokerAuthRejected, "Missing required field")}),
    ("login_validate_success.json", "verify", {"status": ConnectionStatus.CONNECTED}),
    ("login_validate_missing_field.json", "verify", {"raises": (BrokerAuthRejected, "'Mpin'")}),
    ("session_expired.json", "holdings", {"raises": (BrokerSessionExpired, "reconnect")}),
]


def pick(result: Any, path: str) -> Any:
    """The value at a dotted path: list indexes, attributes, mapping keys; `len` is the length."""
    for part in filter(None, path.split(".")):
        if part == "len":
            result = len(result)
        elif part.isdigit():
            result = result[int(part)]
        elif isinstance(result, dict):
            result = result[part]
        else:
            result = getattr(result, part)
    return result


@pytest.fixture(autouse=True)
def holdings_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEO_HOLDINGS_CACHE_DIR", str(tmp_path / "neo_holdings_cache"))


@pytest.mark.parametrize("fixture,call,expected", REAL_BODIES, ids=[case[0] for case in REAL_BODIES])
def test_a_real_kotak_body_maps_to_these_values(neo_wire, fixture, call, expected):
    verb, path, operation, session = CALLS[call]
    if call == "instruments":
        neo_wire.serve_scrip_master(fixture)
    else:
        neo_wire.reply(verb, path if path.startswith("https") else f"{NEO_TRADE_HOST}{path}", fixture)
    if call == "modify":
        neo_wire.reply("GET", f"{NEO_TRADE_HOST}/quick/user/orders", "orders_book_success.json")
    adapter = KotakNeoAdapter(credentials=CREDENTIALS, session=session, options={"environment": "prod"})

    if "raises" in expected:
        error, words = expected["raises"]
        with pytest.raises(error) as caught:
            operation(adapter)
        assert words in caught.value.detail
        return
    result = operation(adapter)

    assert {path: pick(result, path) for path in expected} == expected
