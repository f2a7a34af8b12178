"""The paper exchange's models, moved from the brokers app with their tables: state only, no table changes.

The tables were made by brokers 0002-0004 and keep their names, so a
database that has them carries every row over; staff permissions follow
their content types.
"""

import django.db.models.deletion
from decimal import Decimal
from django.db import migrations, models

MODELS = ["papermarket", "paperinstrument", "paperaccount", "paperholding", "paperposition", "paperorder",
          "papertrade"]


def content_types_to(app_label: str, from_label: str):
    def move(apps, schema_editor):
        content_type = apps.get_model("contenttypes", "ContentType")
        taken = set(content_type.objects.filter(app_label=app_label, model__in=MODELS).values_list("model", flat=True))
        content_type.objects.filter(app_label=from_label, model__in=set(MODELS) - taken).update(app_label=app_label)

    return move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("brokers", "0005_broker_instruments"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="PaperMarket",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("seed", models.BigIntegerField()),
                        ("clock_at", models.DateTimeField(help_text="How far the simulated market has run.")),
                        ("session_date", models.DateField(blank=True, help_text="The last trading day whose open was processed.", null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={"db_table": "brokers_papermarket"},
                ),
                migrations.CreateModel(
                    name="PaperInstrument",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("token", models.BigIntegerField(unique=True)),
                        ("tradingsymbol", models.CharField(max_length=64)),
                        ("name", models.CharField(blank=True, default="", max_length=128)),
                        ("exchange", models.CharField(max_length=8)),
                        ("instrument_type", models.CharField(max_length=8)),
                        ("underlying", models.CharField(blank=True, default="", max_length=32)),
                        ("expiry", models.DateField(blank=True, null=True)),
                        ("strike", models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True)),
                        ("lot_size", models.IntegerField(default=1)),
                        ("tick_size", models.DecimalField(decimal_places=2, default=Decimal("0.05"), max_digits=6)),
                        ("isin", models.CharField(blank=True, default="", max_length=16)),
                        ("active", models.BooleanField(default=True)),
                        ("last_price", models.DecimalField(decimal_places=2, max_digits=14)),
                        ("open_price", models.DecimalField(decimal_places=2, max_digits=14)),
                        ("high_price", models.DecimalField(decimal_places=2, max_digits=14)),
                        ("low_price", models.DecimalField(decimal_places=2, max_digits=14)),
                        ("close_price", models.DecimalField(decimal_places=2, help_text="The previous session's close.", max_digits=14)),
                        ("volume", models.BigIntegerField(default=0)),
                        ("oi", models.BigIntegerField(default=0)),
                        ("oi_day_open", models.BigIntegerField(default=0)),
                        ("walk_log", models.FloatField(blank=True, null=True)),
                        ("walk_minute", models.BigIntegerField(blank=True, null=True)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "db_table": "brokers_paperinstrument",
                        "ordering": ["token"],
                        "indexes": [models.Index(fields=["underlying", "expiry"], name="brokers_pap_underly_5e3333_idx")],
                        "constraints": [models.UniqueConstraint(fields=("exchange", "tradingsymbol"), name="unique_paper_symbol")],
                    },
                ),
                migrations.CreateModel(
                    name="PaperAccount",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("account_id", models.CharField(max_length=16, unique=True)),
                        ("opening_cash", models.DecimalField(decimal_places=2, default=Decimal("1000000"), max_digits=16)),
                        ("cash", models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={"db_table": "brokers_paperaccount"},
                ),
                migrations.CreateModel(
                    name="PaperHolding",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("quantity", models.IntegerField()),
                        ("average_price", models.DecimalField(decimal_places=4, max_digits=14)),
                        ("account", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="holdings", to="paper.paperaccount")),
                        ("instrument", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="paper.paperinstrument")),
                    ],
                    options={
                        "db_table": "brokers_paperholding",
                        "constraints": [models.UniqueConstraint(fields=("account", "instrument"), name="one_paper_holding_per_instrument")],
                    },
                ),
                migrations.CreateModel(
                    name="PaperPosition",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("product", models.CharField(max_length=8)),
                        ("overnight_quantity", models.IntegerField(default=0)),
                        ("overnight_price", models.DecimalField(decimal_places=4, default=Decimal("0"), max_digits=14)),
                        ("buy_quantity", models.IntegerField(default=0)),
                        ("buy_value", models.DecimalField(decimal_places=4, default=Decimal("0"), max_digits=18)),
                        ("sell_quantity", models.IntegerField(default=0)),
                        ("sell_value", models.DecimalField(decimal_places=4, default=Decimal("0"), max_digits=18)),
                        ("account", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="positions", to="paper.paperaccount")),
                        ("instrument", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="paper.paperinstrument")),
                    ],
                    options={
                        "db_table": "brokers_paperposition",
                        "ordering": ["id"],
                        "constraints": [models.UniqueConstraint(fields=("account", "instrument", "product"), name="one_paper_position_per_product")],
                    },
                ),
                migrations.CreateModel(
                    name="PaperOrder",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("order_id", models.CharField(max_length=24, unique=True)),
                        ("tag", models.CharField(blank=True, db_index=True, default="", max_length=32)),
                        ("transaction_type", models.CharField(max_length=4)),
                        ("order_type", models.CharField(max_length=8)),
                        ("product", models.CharField(max_length=8)),
                        ("variety", models.CharField(default="regular", max_length=8)),
                        ("validity", models.CharField(default="DAY", max_length=4)),
                        ("quantity", models.IntegerField()),
                        ("disclosed_quantity", models.IntegerField(default=0)),
                        ("price", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14)),
                        ("trigger_price", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=14)),
                        ("status", models.CharField(max_length=16)),
                        ("filled_quantity", models.IntegerField(default=0)),
                        ("average_price", models.DecimalField(decimal_places=4, default=Decimal("0"), max_digits=14)),
                        ("status_message", models.CharField(blank=True, default="", max_length=255)),
                        ("exchange_order_id", models.CharField(blank=True, default="", max_length=24)),
                        ("order_timestamp", models.DateTimeField()),
                        ("exchange_timestamp", models.DateTimeField(blank=True, null=True)),
                        ("modifications", models.IntegerField(default=0)),
                        ("margin_per_unit", models.DecimalField(decimal_places=6, default=Decimal("0"), max_digits=18)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                        ("account", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="orders", to="paper.paperaccount")),
                        ("instrument", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to="paper.paperinstrument")),
                    ],
                    options={
                        "db_table": "brokers_paperorder",
                        "ordering": ["order_timestamp", "id"],
                        "indexes": [models.Index(fields=["status"], name="brokers_pap_status_f310f6_idx")],
                    },
                ),
                migrations.CreateModel(
                    name="PaperTrade",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("trade_id", models.CharField(max_length=24, unique=True)),
                        ("quantity", models.IntegerField()),
                        ("price", models.DecimalField(decimal_places=2, max_digits=14)),
                        ("filled_at", models.DateTimeField()),
                        ("order", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="trades", to="paper.paperorder")),
                    ],
                    options={
                        "db_table": "brokers_papertrade",
                        "ordering": ["filled_at", "id"],
                    },
                ),
            ],
        ),
        migrations.RunPython(content_types_to("paper", "brokers"), content_types_to("brokers", "paper")),
    ]
