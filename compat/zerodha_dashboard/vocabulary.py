"""Seed 003's words (the Zerodha dashboard integration) and BudhiTrade's.

Seed 003 names the broker `broker` in its credential setup and `brokerage`
in its activation, and sends Kite's API root as `api_url`. The one module
that knows them; an unknown word is the request's fault (400).
"""

from __future__ import annotations

from brokers.domain import Broker

# The brokers seed 003's two steps set up: an API key and secret, then a login URL and a request_token (Kite).
BROKERS = {"zerodha": Broker.ZERODHA}
# Kite Connect's API root, which seed 003 sends as `api_url`: BudhiTrade's Kite client calls it through the SDK.
KITE_API_ROOT = "https://api.kite.trade"


def broker_from(word: str) -> Broker:
    """Seed 003's broker name, as BudhiTrade's broker; ValueError naming the ones it sets up."""
    try:
        return BROKERS[word.strip().lower()]
    except KeyError:
        raise ValueError(f"Unknown broker {word!r}: these paths set up {', '.join(BROKERS)}; connect another "
                         "broker with POST /broker/connect/initiate.") from None


def api_url_check(url: str) -> str:
    """Seed 003's `api_url`: Kite's own root (with or without a trailing slash), or ValueError."""
    if url.rstrip("/") != KITE_API_ROOT:
        raise ValueError(f"BudhiTrade calls Kite Connect at {KITE_API_ROOT}; send that or leave api_url out.")
    return KITE_API_ROOT
