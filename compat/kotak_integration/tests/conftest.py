"""Seed 001's tests' users: the one its examples name."""

import pytest

from compat.kotak_integration.tests.support import DOCUMENT_USER


@pytest.fixture
def trader(make_user):
    """The user seed 001's examples name."""
    return make_user(DOCUMENT_USER)


@pytest.fixture
def trader_api(client_for, trader):
    return client_for(trader)
