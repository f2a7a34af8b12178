"""Re-encrypt every stored secret with the newest ENCRYPTION_KEY."""

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from budhitrade.encryption import encrypted_fields, rotate_token


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column with the first (newest) key in "
        "ENCRYPTION_KEY. Run it after prepending a new key; then drop the old one."
    )

    def handle(self, *args, **options):
        total = 0
        quote = connection.ops.quote_name
        for model, field in encrypted_fields():
            table, column, pk = model._meta.db_table, field.column, model._meta.pk.column
            with transaction.atomic(), connection.cursor() as cursor:
                # Raw SQL: the ciphertext is rotated as it is, never decoded to JSON.
                cursor.execute(
                    f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "
                    f"WHERE {quote(column)} IS NOT NULL AND {quote(column)} <> '' FOR UPDATE"
                )
                rows = cursor.fetchall()
                for pk_value, token in rows:
                    cursor.execute(
                        f"UPDATE {quote(table)} SET {quote(column)} = %s WHERE {quote(pk)} = %s",
                        [rotate_token(token), pk_value],
                    )
            total += len(rows)
            self.stdout.write(f"{model._meta.label}.{field.name}: {len(rows)} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} values now use the newest key"))
