"""The paper exchange's writers take row locks in one order (account, then order), so none deadlock."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from brokers.paper import engine
from brokers.paper.catalogue import session_is_open
from brokers.paper.models import PaperAccount, PaperInstrument, PaperOrder
from brokers.tests.fixtures import PAPER_START_DAY, ist, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def someone_waits_on_a_lock() -> bool:
    """A session of this database waits on a row lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction otherwise sees one frozen snapshot
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0] > 0


def test_a_modification_during_the_markets_step_waits_its_turn_instead_of_deadlocking(paper_market, paper_account):
    itc = PaperInstrument.objects.get(tradingsymbol="ITC")
    now = ist(PAPER_START_DAY, 9, 30)
    assert session_is_open(now)
    order = engine.engine_accept(account_id=paper_account.account_id, instrument=itc, transaction_type="BUY",
                                 order_type="LIMIT", product="CNC", quantity=10, price=itc.last_price - 20,
                                 trigger_price=None, validity="DAY", variety="regular", tag="lock1")
    holding_account, modifying, errors = threading.Event(), threading.Event(), []

    def market_step():  # as the market's advance does at the open: accounts settle first, then orders match
        try:
            with transaction.atomic():
                list(PaperAccount.objects.select_for_update().filter(pk=paper_account.pk))
                holding_account.set()
                assert wait_for(modifying.is_set) and wait_for(someone_waits_on_a_lock)
                engine.engine_step(now=now)
        except Exception as error:  # noqa: BLE001 - the test reports whatever went wrong
            errors.append(error)
        finally:
            connections.close_all()

    def modify():
        try:
            assert wait_for(holding_account.is_set)
            modifying.set()
            engine.engine_modify(order_id=order.order_id, account_id=paper_account.account_id,
                                 price=itc.last_price - Decimal("25"))
        except Exception as error:  # noqa: BLE001
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=market_step), threading.Thread(target=modify)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert PaperOrder.objects.get(pk=order.pk).price == itc.last_price - Decimal("25")
