"""KotakNeoAdapter.limits through the real neo_api_client SDK: filters go to Kotak in jData, answers map to Limits."""

import json
from decimal import Decimal
from urllib.parse import parse_qs

import httpx
import pytest

from brokers.adapters.base import BrokerError, BrokerSessionExpired, BrokerTimeout
from brokers.adapters.kotak_neo import mapping
from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter
from brokers.domain import Limits, LimitsExchange, LimitsProduct, LimitsSegment
from brokers.tests.fixtures import NEO_TRADE_HOST

CREDENTIALS = {"consumer_key": "neoConsumerKey1", "mobile_number": "+919876543210", "ucc": "AB123"}
TRADE_SESSION = {
    "edit_token": "eyJ.trade", "edit_sid": "sid-2", "edit_rid": "rid-2",
    "base_url": NEO_TRADE_HOST, "ucc": "AB123",
}
LIMITS = f"{NEO_TRADE_HOST}/quick/user/limits"
ALL = {"segment": LimitsSegment.ALL, "exchange": LimitsExchange.ALL, "product": LimitsProduct.ALL}


def adapter(session=TRADE_SESSION):
    return KotakNeoAdapter(credentials=CREDENTIALS, session=session, options={"environment": "prod"})


def jdata(request: httpx.Request) -> dict:
    """The form field the SDK's REST client sends Kotak: jData=<JSON>."""
    return json.loads(parse_qs(request.content.decode())["jData"][0])


@pytest.mark.parametrize(
    "segment,exchange,product",
    [
        (LimitsSegment.FO, LimitsExchange.NSE, LimitsProduct.NRML),
        (LimitsSegment.CASH, LimitsExchange.BSE, LimitsProduct.CNC),
        (LimitsSegment.CUR, LimitsExchange.NSE, LimitsProduct.MIS),
    ],
)
def test_filters_reach_kotak_in_the_jdata_body(neo_wire, segment, exchange, product):
    neo_wire.reply("POST", LIMITS, "limits_success.json")

    adapter().limits(segment=segment, exchange=exchange, product=product)

    (request,) = neo_wire.calls(LIMITS)
    assert jdata(request) == {"seg": segment.value, "exch": exchange.value, "prod": product.value}
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["Sid"] == "sid-2" and request.headers["Auth"] == "eyJ.trade"


def test_kotaks_answer_maps_to_limits_with_the_funds_field_choices(neo_wire):
    neo_wire.reply("POST", LIMITS, "limits_success.json")

    limits = adapter().limits(segment=LimitsSegment.FO, exchange=LimitsExchange.NSE, product=LimitsProduct.NRML)

    assert isinstance(limits, Limits)
    assert (limits.segment, limits.exchange, limits.product) == ("FO", "NSE", "NRML")
    # Net, CollateralValue, Collateral and MarginUsed from limits_success.json.
    assert limits.net == Decimal("19.409999999999997")
    assert limits.cash == Decimal("38.19")
    assert limits.collateral == Decimal("0")
    assert limits.margin_used == Decimal("18.78")
    assert limits.breakdown == {
        "intraday_payin": Decimal("0"),
        "live_balance": Decimal("19.409999999999997"),
        "adhoc_margin": Decimal("0"),
        "notional_cash": Decimal("0"),
        "exposure": Decimal("0"),
        "span": Decimal("0"),
        "option_premium": Decimal("0"),
        "m2m_realised": Decimal("0"),
        "m2m_unrealised": Decimal("0"),
        "delivery": Decimal("0"),
        "payout": Decimal("0"),
    }


def test_all_filters_send_all_as_the_sdks_own_call_does(neo_wire):
    neo_wire.reply("POST", LIMITS, "limits_success.json")

    adapter().limits(**ALL)
    adapter().funds()

    filtered, sdk_own = neo_wire.calls(LIMITS)
    assert jdata(filtered) == jdata(sdk_own) == {"seg": "ALL", "exch": "ALL", "prod": "ALL"}
    assert filtered.headers["Content-Type"] == sdk_own.headers["Content-Type"]


def test_expired_session_is_recognised(neo_wire):
    neo_wire.reply("POST", LIMITS, "session_expired.json", status=401)

    with pytest.raises(BrokerSessionExpired) as caught:
        adapter().limits(**ALL)

    assert caught.value.status_code == 409


def test_without_a_trade_session_nothing_is_sent(neo_wire):
    neo_wire.reply("POST", LIMITS, "limits_success.json")

    with pytest.raises(BrokerSessionExpired):
        adapter(session={"view_token": "eyJ.view", "base_url": NEO_TRADE_HOST}).limits(**ALL)

    assert neo_wire.calls(LIMITS) == []


def test_refusal_is_a_broker_error_with_kotaks_reason(neo_wire):
    neo_wire.reply("POST", LIMITS, "positions_no_data.json")

    with pytest.raises(BrokerError) as caught:
        adapter().limits(**ALL)

    assert caught.value.status_code == 502 and "No Data" in caught.value.detail


def test_broker_5xx_is_a_bad_gateway(neo_wire):
    neo_wire.reply("POST", LIMITS, "login_totp_invalid.json", status=503)

    with pytest.raises(BrokerError) as caught:
        adapter().limits(**ALL)

    assert caught.value.status_code == 502


def test_timeout_is_a_broker_timeout(neo_wire):
    neo_wire.fail("POST", LIMITS, httpx.ReadTimeout)

    with pytest.raises(BrokerTimeout):
        adapter().limits(**ALL)


def test_a_filter_value_kotak_does_not_take_is_refused_not_sent():
    with pytest.raises(BrokerError):
        mapping.limits_filters_to_wire(segment="MCX", exchange=LimitsExchange.ALL, product=LimitsProduct.ALL)
