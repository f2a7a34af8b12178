"""Shared fixtures; broker wire fixtures live next to each adapter's tests."""

import os

import pytest
from django.conf import settings

pytest_plugins = ["brokers.tests.fixtures", "portfolio.tests.fixtures"]


def pytest_sessionstart(session):
    # The database is PostgreSQL everywhere (settings require DATABASE_URL); CI also needs a real Redis.
    if os.environ.get("CI") == "true" and not settings.REDIS_URL:
        pytest.exit("CI must run against PostgreSQL and Redis (DATABASE_URL, REDIS_URL)", returncode=1)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit windows and other cached state never leak between tests."""
    from django.core.cache import cache

    from orders.services import _SPECS

    cache.clear()
    _SPECS.clear()
    yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """No persistent connections in tests: worker threads must not hold the test database open."""
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
