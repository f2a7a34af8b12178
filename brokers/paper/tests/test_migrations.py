"""A database of the layout before the paper exchange had its own app migrates in place, keeping every row."""

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from brokers.paper.models import PaperAccount

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("brokers", "0005_broker_instruments"), ("paper", None)]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)


def test_paper_rows_of_the_brokers_app_survive_the_move_to_the_paper_app():
    content_type = ContentType.objects.get(app_label="paper", model="paperaccount").pk
    before = migrate(BEFORE).loader.project_state(BEFORE[:1]).apps
    assert ContentType.objects.get(pk=content_type).app_label == "brokers"
    before.get_model("brokers", "PaperAccount").objects.create(
        account_id="PA00000777", opening_cash=Decimal("250000"), cash=Decimal("212345.50"))

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    account = PaperAccount.objects.get(account_id="PA00000777")
    assert (account.opening_cash, account.cash) == (Decimal("250000"), Decimal("212345.50"))
    assert ContentType.objects.get(pk=content_type).app_label == "paper"
