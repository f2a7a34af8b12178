"""Loading each real broker's instrument master, and when orders may be checked against it."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import requests

from brokers.adapters.base import BrokerTimeout
from brokers.calendar import IST
from brokers.instruments import instruments_refresh, instruments_refresh_due
from brokers.models import BrokerConnection, BrokerInstrument, InstrumentMaster
from brokers.selectors import instrument_spec_get
from brokers.domain import InstrumentSpec
from brokers.tests.fixtures import KITE_ROOT

pytestmark = pytest.mark.django_db(transaction=True)
MORNING = datetime(2026, 12, 1, 8, 45, tzinfo=IST)  # after the day's masters are published


def test_a_load_stores_every_instrument_and_drops_what_is_no_longer_listed(kite_wired_account, kite_wire):
    kite_wire.reply_csv("/instruments", "instruments.csv")
    BrokerInstrument.objects.create(broker="zerodha", exchange="NFO", tradingsymbol="NIFTY26NOVFUT", token="1",
                                    instrument_type="FUT", lot_size=65, tick_size=Decimal("0.1"),
                                    listed_on=date(2026, 11, 30))

    assert instruments_refresh(connection=kite_wired_account, now=MORNING) == 9

    assert BrokerInstrument.objects.filter(broker="zerodha").count() == 9
    assert not BrokerInstrument.objects.filter(tradingsymbol="NIFTY26NOVFUT").exists()  # expired
    master = InstrumentMaster.objects.get(broker="zerodha")
    assert (master.listed_on, master.count) == (date(2026, 12, 1), 9)


def test_a_second_load_the_same_day_updates_in_place(kite_wired_account, kite_wire):
    kite_wire.reply_csv("/instruments", "instruments.csv")
    instruments_refresh(connection=kite_wired_account, now=MORNING)
    BrokerInstrument.objects.filter(tradingsymbol="ITC").update(lot_size=7)

    instruments_refresh(connection=kite_wired_account, now=MORNING + timedelta(hours=1))

    assert BrokerInstrument.objects.filter(broker="zerodha").count() == 9
    assert BrokerInstrument.objects.get(tradingsymbol="ITC").lot_size == 1


def test_a_failed_load_keeps_the_stored_master(kite_wired_account, kite_wire):
    kite_wire.reply_csv("/instruments", "instruments.csv")
    instruments_refresh(connection=kite_wired_account, now=MORNING)
    kite_wire.mock.replace("GET", f"{KITE_ROOT}/instruments", body=requests.exceptions.ConnectTimeout())

    with pytest.raises(BrokerTimeout):
        instruments_refresh(connection=kite_wired_account, now=MORNING + timedelta(days=1))

    assert BrokerInstrument.objects.filter(broker="zerodha").count() == 9
    assert InstrumentMaster.objects.get(broker="zerodha").listed_on == date(2026, 12, 1)


def test_a_listing_far_smaller_than_the_stored_one_changes_nothing(kite_wired_account, kite_wire):
    kite_wire.reply_csv("/instruments", "instruments.csv")
    InstrumentMaster.objects.create(broker="zerodha", listed_on=date(2026, 11, 30), loaded_at=MORNING, count=100)

    assert instruments_refresh(connection=kite_wired_account, now=MORNING) == 0  # 9 of 100: a truncated download

    assert not BrokerInstrument.objects.exists()
    assert InstrumentMaster.objects.get(broker="zerodha").listed_on == date(2026, 11, 30)


def test_kotak_files_of_an_earlier_day_are_not_loaded_as_todays(neo_wired_account, neo_wire):
    neo_wire.serve_scrip_master()

    assert instruments_refresh(connection=neo_wired_account, now=MORNING + timedelta(days=1)) == 0
    assert not InstrumentMaster.objects.exists()
    assert instruments_refresh(connection=neo_wired_account, now=MORNING) == 14
    assert InstrumentMaster.objects.get(broker="kotak_neo").listed_on == date(2026, 12, 1)


@pytest.mark.parametrize("moment, current", [
    (datetime(2026, 12, 1, 8, 45, tzinfo=IST), True),
    (datetime(2026, 12, 2, 8, 15, tzinfo=IST), True),  # before the next day's is published
    (datetime(2026, 12, 2, 8, 30, tzinfo=IST), False),
    (datetime(2026, 12, 3, 10, 0, tzinfo=IST), False),
])
def test_specs_come_only_from_the_current_master(moment, current, monkeypatch):
    BrokerInstrument.objects.create(broker="zerodha", exchange="NSE", tradingsymbol="IDEA", token="3677697",
                                    instrument_type="EQ", lot_size=1, tick_size=Decimal("0.01"),
                                    listed_on=date(2026, 12, 1))
    InstrumentMaster.objects.create(broker="zerodha", listed_on=date(2026, 12, 1), loaded_at=MORNING, count=1)
    monkeypatch.setattr("brokers.selectors.timezone.now", lambda: moment)

    known = instrument_spec_get(broker="zerodha", exchange="NSE", tradingsymbol="IDEA")
    unknown = instrument_spec_get(broker="zerodha", exchange="NSE", tradingsymbol="NOSUCH")
    unlisted_contract = instrument_spec_get(broker="zerodha", exchange="NFO", tradingsymbol="NIFTY26DEC99000CE")

    if current:
        assert known == InstrumentSpec(known=True, lot_size=1, tick_size=Decimal("0.01"))
        assert unknown == InstrumentSpec(known=False)
    else:
        assert known is None and unknown is None
    assert unlisted_contract is None  # strikes and contracts are added during the day: the broker decides


def test_the_due_task_loads_each_stale_master_once_through_an_account_that_works(user, kite_wire, neo_wire):
    dead = BrokerConnection.objects.create(user=user, broker="zerodha", account_id="ZD1", status="connected",
                                           credentials={"api_key": "deadkey", "api_secret": "s"},
                                           session={"access_token": "gone"}, last_connected_at=MORNING)
    BrokerConnection.objects.create(user=user, broker="zerodha", account_id="ZX4821", status="connected",
                                    credentials={"api_key": "kitekey123", "api_secret": "s"},
                                    session={"access_token": "kAcc3ssT0kenValue9"},
                                    last_connected_at=MORNING - timedelta(hours=1))
    kite_wire.mock.add("GET", f"{KITE_ROOT}/instruments", json={"status": "error", "error_type": "TokenException",
                                                              "message": "Incorrect `api_key` or `access_token`."},
                       status=403, match=[lambda request: ("deadkey" in request.headers["Authorization"], "")])
    kite_wire.reply_csv("/instruments", "instruments.csv")

    assert instruments_refresh_due(now=MORNING) == 1

    dead.refresh_from_db()
    assert dead.status == "expired"  # its session was found dead on the way
    assert InstrumentMaster.objects.get(broker="zerodha").count == 9
    assert not InstrumentMaster.objects.filter(broker__in=["kotak_neo", "paper"]).exists()  # nothing connected
    calls = len(kite_wire.calls("/instruments"))
    assert instruments_refresh_due(now=MORNING + timedelta(minutes=30)) == 0  # current: nothing fetched
    assert len(kite_wire.calls("/instruments")) == calls


def test_an_unreadable_master_of_one_broker_does_not_stop_the_others(user, kite_wire, neo_wire, monkeypatch):
    from brokers.adapters.kotak_neo.adapter import KotakNeoAdapter

    kite_wire.reply_csv("/instruments", "instruments.csv")
    BrokerConnection.objects.create(user=user, broker="kotak_neo", account_id="AB123", status="connected",
                                    credentials={"consumer_key": "k"}, session={}, options={"environment": "prod"})
    BrokerConnection.objects.create(user=user, broker="zerodha", account_id="ZX4821", status="connected",
                                    credentials={"api_key": "kitekey123", "api_secret": "s"},
                                    session={"access_token": "kAcc3ssT0kenValue9"})

    def unreadable(self):
        raise AttributeError("'list' object has no attribute 'strip'")

    monkeypatch.setattr(KotakNeoAdapter, "instruments", unreadable)

    assert instruments_refresh_due(now=MORNING) == 1
    assert set(InstrumentMaster.objects.values_list("broker", flat=True)) == {"zerodha"}
