"""Seed 001's words (the Kotak Neo integration guide's bodies) and BudhiTrade's, both ways.

The one module that knows seed 001's `MKT`/`LMT`, `B`/`S`, `CNC`/`MIS`/`NRML`,
`nse_cm`…, `DAY`/`IOC`/`GTC`, its field names (`symbol`, `product_type`,
`access_token`, `client_code`) and Kotak's `kType`. Where seed 001
uses seed 002's words, seed 002's tables are the ones used
(compat/kotak_service/vocabulary.py); cash symbols with their series
(`ITC-EQ`) are read as seed 002 reads them. Every lookup raises on a word it
does not know: an unknown word is the request's fault (400), never a silent
default.
"""

from __future__ import annotations

from brokers.domain import ConnectionStatus
from brokers.market.keys import SEGMENT_EXCHANGES
from compat.kotak_service import vocabulary as seed_002

UnknownWord = seed_002.UnknownWord
word = seed_002.word

# The same words as seed 002's.
TRANSACTION_TYPES = seed_002.TRANSACTION_TYPES  # B, S
PRODUCTS = seed_002.PRODUCTS  # CNC, MIS, NRML
ORDER_SEGMENTS = seed_002.ORDER_SEGMENTS  # nse_cm, bse_cm, nse_fo, bse_fo, mcx_fo -> NSE, BSE, NFO, BFO, MCX
# Seed 001's own: a limit order is LMT (seed 002 says L), and it names no stop-loss types.
ORDER_TYPES = {"MKT": "MARKET", "LMT": "LIMIT"}
# GTC is seed 001's one validity beyond the day (one of seed 002's LONG_VALIDITIES): only where the account's
# broker takes it (the adapter's places_long_validity_orders).
LONG_VALIDITIES = ("GTC",)
VALIDITIES = (*seed_002.VALIDITIES, *LONG_VALIDITIES)  # DAY, IOC, GTC
# Quotes take every segment the market API names, currency's cde_fo included.
QUOTE_SEGMENTS = tuple(SEGMENT_EXCHANGES)

# What seed 001's order body leaves out means these ("exchange: default nse_cm"; its cURL example sends neither
# product_type nor validity).
DEFAULT_EXCHANGE = "nse_cm"
DEFAULT_PRODUCT = "CNC"
DEFAULT_VALIDITY = "DAY"

# Seed 001's login field -> /broker/connect/initiate's (Kotak Neo): the Neo app's API access token is Kotak's
# consumer key (sent as the Authorization header), the client code is the UCC.
LOGIN_FIELDS = {"access_token": "consumer_key", "client_code": "ucc"}
# The unified order body's and order book's names -> seed 001's, for the few that differ.
ORDER_FIELDS = {"tradingsymbol": "symbol", "product": "product_type"}
# Kotak's kType of a login at each step: a view session after the TOTP, a trade session after the MPIN.
K_TYPES = {ConnectionStatus.PENDING_MPIN: "View", ConnectionStatus.CONNECTED: "Trade"}

SEED_LOGIN_NAMES = {unified: seed for seed, unified in LOGIN_FIELDS.items()}


def words_of(choices) -> dict[str, str]:
    """A tuple of words as a table that maps each to itself (seed 002's `word` reads it, any case)."""
    return {choice: choice for choice in choices}


def k_type(status: str) -> str:
    """Kotak's kType for a login in `status`; UnknownWord for a status a login step never leaves."""
    if status not in K_TYPES:
        raise UnknownWord(f"A login in status {status!r} has no kType.")
    return K_TYPES[status]


def seed_errors(errors: dict | None, names: dict[str, str] = ORDER_FIELDS) -> dict | None:
    """Validation errors keyed by BudhiTrade's names, renamed to seed 001's (`names`: BudhiTrade's -> seed 001's)."""
    if not errors:
        return errors
    return {names.get(name, name): [str(message) for message in messages] for name, messages in errors.items()}
