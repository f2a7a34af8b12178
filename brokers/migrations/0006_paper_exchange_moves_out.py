"""The paper exchange's models leave the brokers app for their own (paper 0001): state only; every table and row
stays where it is."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("brokers", "0005_broker_instruments"),
        ("paper", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="PaperTrade"),
                migrations.DeleteModel(name="PaperOrder"),
                migrations.DeleteModel(name="PaperPosition"),
                migrations.DeleteModel(name="PaperHolding"),
                migrations.DeleteModel(name="PaperAccount"),
                migrations.DeleteModel(name="PaperInstrument"),
                migrations.DeleteModel(name="PaperMarket"),
            ],
        ),
    ]
