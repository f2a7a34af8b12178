"""Encryption at rest for broker secrets: MultiFernet over ENCRYPTION_KEY.

Keys come newest first. Encryption always uses the newest key; decryption
tries each. `manage.py rotate_encryption_keys` re-encrypts every stored value
with the newest key, after which older keys can be dropped.
"""

from __future__ import annotations

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models


class DecryptionError(Exception):
    """A stored value matches none of the configured keys."""


@lru_cache(maxsize=1)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("ENCRYPTION_KEY is empty")
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEY must be comma-separated Fernet keys (32 url-safe base64 bytes)"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.ENCRYPTION_KEYS))


def _clear_cache(setting, **kwargs):
    if setting == "ENCRYPTION_KEYS":
        _fernet_for.cache_clear()


setting_changed.connect(_clear_cache)


def encrypt_text(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt_text(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "Stored secret cannot be decrypted with any configured ENCRYPTION_KEY"
        ) from exc


def rotate_token(token: str) -> str:
    """Re-encrypt one stored token with the newest key."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "Stored secret cannot be decrypted with any configured ENCRYPTION_KEY"
        ) from exc


class EncryptedJSONField(models.TextField):
    """A JSON object stored as one Fernet token; never readable in the database."""

    description = "Encrypted JSON"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("default", dict)
        kwargs.setdefault("blank", True)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return {}
        return json.loads(decrypt_text(value))

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        if value is None or value == "":
            return {}
        return json.loads(decrypt_text(value))

    def get_prep_value(self, value):
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise TypeError("EncryptedJSONField holds a dict")
        return encrypt_text(json.dumps(value, separators=(",", ":"), sort_keys=True))

    def value_to_string(self, obj):
        # Serialization (dumpdata) writes the ciphertext, never the plaintext.
        return self.get_prep_value(self.value_from_object(obj))

    def get_lookup(self, lookup_name):
        # Ciphertext is randomised: equality lookups could only mislead.
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)


def encrypted_fields():
    """(model, field) for every encrypted field of every installed model."""
    from django.apps import apps

    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedJSONField):
                yield model, field
