"""Indexes for the market endpoints' reads of a broker's instrument master: by token, by symbol prefix, and
the symbol-or-name contains search (pg_trgm)."""

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import TrigramExtension
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('brokers', '0006_paper_exchange_moves_out'),
    ]

    operations = [
        # The contains search's trigram indexes (pg_trgm ships with PostgreSQL's contrib, trusted since 13).
        TrigramExtension(),
        migrations.AddIndex(
            model_name='brokerinstrument',
            index=models.Index(fields=['broker', 'exchange', 'token'], name='brokerinstr_token'),
        ),
        migrations.AddIndex(
            model_name='brokerinstrument',
            index=models.Index(django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper('tradingsymbol'), name='text_pattern_ops'), name='brokerinstr_symbol_prefix'),
        ),
        migrations.AddIndex(
            model_name='brokerinstrument',
            index=django.contrib.postgres.indexes.GinIndex(django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper('tradingsymbol'), name='gin_trgm_ops'), name='brokerinstr_symbol_trgm'),
        ),
        migrations.AddIndex(
            model_name='brokerinstrument',
            index=django.contrib.postgres.indexes.GinIndex(django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper('name'), name='gin_trgm_ops'), name='brokerinstr_name_trgm'),
        ),
    ]
