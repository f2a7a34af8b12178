"""Partial indexes on the open orders, so the market's step reads only the orders that can fill."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('paper', '0001_initial'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='paperorder',
            index=models.Index(condition=models.Q(('order_type__in', ('LIMIT', 'SL')), ('status', 'OPEN')), fields=['instrument', 'transaction_type', 'price'], name='paper_order_open_priced'),
        ),
        migrations.AddIndex(
            model_name='paperorder',
            index=models.Index(condition=models.Q(('status', 'TRIGGER PENDING')), fields=['instrument', 'transaction_type', 'trigger_price'], name='paper_order_stop_pending'),
        ),
        migrations.AddIndex(
            model_name='paperorder',
            index=models.Index(condition=models.Q(('status', 'OPEN'), models.Q(('order_type__in', ('MARKET', 'SL-M')), ('validity', 'IOC'), _connector='OR')), fields=['instrument'], name='paper_order_open_taking'),
        ),
    ]
