"""Encryption at rest: no plaintext in the database, rotation, no silent fallbacks."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection as db

from brokers.models import BrokerConnection
from budhitrade.encryption import DecryptionError

pytestmark = pytest.mark.django_db

KEY_A = Fernet.generate_key().decode()
KEY_B = Fernet.generate_key().decode()
SECRETS = {"api_key": "kitekey123", "api_secret": "topSecretValue789"}


def raw_credentials(pk) -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials, session FROM brokers_brokerconnection WHERE id = %s", [pk])
        return " ".join(cursor.fetchone())


def make_connection(user):
    return BrokerConnection.objects.create(
        user=user, broker="zerodha", account_id="ZX4821", status="connected",
        credentials=SECRETS, session={"access_token": "kAcc3ssT0kenValue9"},
    )


def test_raw_row_holds_no_plaintext(user, settings):
    settings.ENCRYPTION_KEYS = [KEY_A]
    connection = make_connection(user)

    raw = raw_credentials(connection.pk)

    for secret in ["kitekey123", "topSecretValue789", "kAcc3ssT0kenValue9", "api_secret", "access_token"]:
        assert secret not in raw
    assert BrokerConnection.objects.get().credentials == SECRETS


def test_rotation_re_encrypts_so_only_the_new_key_is_needed(user, settings):
    settings.ENCRYPTION_KEYS = [KEY_A]
    connection = make_connection(user)
    before = raw_credentials(connection.pk)

    settings.ENCRYPTION_KEYS = [KEY_B, KEY_A]
    call_command("rotate_encryption_keys", verbosity=0)
    settings.ENCRYPTION_KEYS = [KEY_B]

    reloaded = BrokerConnection.objects.get()
    assert reloaded.credentials == SECRETS
    assert reloaded.session == {"access_token": "kAcc3ssT0kenValue9"}
    assert raw_credentials(connection.pk) != before


def test_unknown_key_raises_rather_than_returning_ciphertext(user, settings):
    settings.ENCRYPTION_KEYS = [KEY_A]
    make_connection(user)
    settings.ENCRYPTION_KEYS = [KEY_B]

    with pytest.raises(DecryptionError):
        BrokerConnection.objects.get()


def test_production_settings_refuse_to_start_without_keys(monkeypatch):
    import importlib
    import sys

    from django.core.exceptions import ImproperlyConfigured

    for name in ("SECRET_KEY", "ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    sys.modules.pop("budhitrade.settings.production", None)
    with pytest.raises(ImproperlyConfigured, match="must be set in production"):
        importlib.import_module("budhitrade.settings.production")
