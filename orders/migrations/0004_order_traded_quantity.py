"""Each order keeps the quantity of its recorded fills, so the reconcile needs no sum over every order's trades."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce


def traded_quantity_backfill(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Trade = apps.get_model("orders", "Trade")
    recorded = (Trade.objects.filter(order=OuterRef("pk")).order_by().values("order")
                .annotate(total=Sum("quantity")).values("total"))
    Order.objects.filter(pk__in=Trade.objects.values("order")).update(traded_quantity=Coalesce(Subquery(recorded), 0))


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0003_broker_order_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="traded_quantity",
            field=models.IntegerField(default=0),
        ),
        migrations.RunPython(traded_quantity_backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(condition=models.Q(("status__in", ["COMPLETE", "REJECTED", "CANCELLED"]), _negated=True),
                               fields=["connection"], name="order_unfinished"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(condition=models.Q(("filled_quantity__gt", models.F("traded_quantity"))),
                               fields=["connection"], name="order_fills_unrecorded"),
        ),
    ]
