"""Snapshot capture: every configured underlying's option chain and futures, one row per contract per minute.

Quotes come from the account configured for market data
(ANALYTICS_ACCOUNT_ID, a BrokerConnection's account_id), or from the paper
market when none is configured or that account is a paper one. Each capture
writes the one-minute bucket of its moment; a second capture of the same
minute replaces that minute's rows (an upsert on the tables' unique keys),
never adds to them.

Pricing: each expiry's forward is its listed future's price where there is
one, else the forward put-call parity implies; an option's price for IV is
the mid of its best bid and ask when both are quoted, else its last price,
and a crossed quote (bid above ask) gets no IV. Time to expiry runs to 15:30
IST on expiry day, from the moment the prices are of (the paper market's
clock; a broker's answer's arrival).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from analytics import sources
from analytics.models import FutureSnapshot, OptionSnapshot
from analytics.pricing import NO_GREEKS, chain_forward, chain_greeks
from analytics.sources import Chain, Contract
from analytics.upsert import rows_upsert
from brokers import calendar
from brokers.adapters.registry import adapter_class
from brokers.domain import ConnectionStatus, Quote
from brokers.models import BrokerConnection
from brokers.options import years_to_expiry
from brokers.paper import catalogue
from budhitrade.errors import Conflict

logger = logging.getLogger("budhitrade.analytics")

CENT = Decimal("0.01")
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Capture:
    """What one capture wrote."""

    bucket: datetime
    source: str
    options: int
    futures: int


def underlyings() -> list[str]:
    return list(settings.ANALYTICS_UNDERLYINGS)


def rate() -> float:
    return settings.ANALYTICS_RISK_FREE_RATE


def minute_bucket(moment: datetime) -> datetime:
    """The start of the one-minute bucket holding `moment`, in UTC."""
    return moment.astimezone(dt_timezone.utc).replace(second=0, microsecond=0)


def capture_connection() -> BrokerConnection | None:
    """The account configured for market data; None means the paper market (also for a paper account).

    Conflict when the configured account is unknown or not connected: capture
    then writes nothing rather than mixing in another source's prices.
    """
    account_id = settings.ANALYTICS_ACCOUNT_ID
    if not account_id:
        return None
    accounts = BrokerConnection.objects.filter(account_id__iexact=account_id).order_by("-last_connected_at")
    connection = accounts.filter(status=ConnectionStatus.CONNECTED).first() or accounts.first()
    if connection is None:
        raise Conflict(f"ANALYTICS_ACCOUNT_ID {account_id} is no connected broker account.")
    if adapter_class(connection.broker).market_data_shared:
        return None
    if connection.status != ConnectionStatus.CONNECTED:
        raise Conflict(f"ANALYTICS_ACCOUNT_ID {account_id} is not connected (status: {connection.status}).")
    return connection


def market_open(*, connection: BrokerConnection | None, at: datetime) -> bool:
    """The paper market's own hours (PAPER_MARKET_HOURS) for the paper market, else NSE's session."""
    return catalogue.session_is_open(at) if connection is None else calendar.session_is_open(at)


def snapshot_capture_due(*, now: datetime) -> Capture | None:
    """The beat's capture: the configured source's chains now, when its market is open; else nothing (None)."""
    connection = capture_connection()
    if not market_open(connection=connection, at=now):
        return None
    return snapshot_capture_from(connection=connection, at=now)


def snapshot_capture(*, at: datetime) -> Capture:
    """Capture every configured underlying from the configured source into the minute of `at`."""
    return snapshot_capture_from(connection=capture_connection(), at=at)


def snapshot_capture_from(*, connection: BrokerConnection | None, at: datetime) -> Capture:
    """Capture every configured underlying from `connection`'s broker (None: the paper market) into the minute
    of `at`, replacing what that minute held."""
    names = underlyings()
    if connection is None:
        chains = sources.paper_chains(underlyings=names)
    else:
        chains = sources.broker_chains(connection=connection, underlyings=names, at=at)
    return chains_capture(chains, at=at, source=sources.source_name(connection))


def chains_capture(chains: list[Chain], *, at: datetime, source: str) -> Capture:
    """Write `chains` into the minute of `at`: one row per option and per future, upserted.

    Futures OHLC is the minute's own, not the day's: open is the previous
    minute's stored close where that row exists (else the last price now),
    close is the last price now, high and low the larger and smaller of the
    two. A contract with no last price gets no futures row.
    """
    bucket = minute_bucket(at)
    previous = dict(FutureSnapshot.objects.filter(underlying__in=[chain.underlying for chain in chains],
                                                  bucket=bucket - MINUTE).values_list("contract", "close"))
    options: dict[tuple, dict] = {}
    futures: dict[tuple, dict] = {}
    for chain in chains:
        # Keyed as the tables' unique keys: a listing that names one contract twice writes it once.
        for row in _option_rows(chain, bucket, source):
            options[row["expiry"], row["strike"], row["option_type"], row["underlying"]] = row
        for row in _future_rows(chain, bucket, source, previous):
            futures[row["underlying"], row["contract"]] = row
    with transaction.atomic():
        rows_upsert(OptionSnapshot, rows=list(options.values()),
                    unique=["underlying", "expiry", "bucket", "strike", "option_type"])
        rows_upsert(FutureSnapshot, rows=list(futures.values()), unique=["underlying", "contract", "bucket"])
    logger.debug("snapshot_captured", extra={"bucket": bucket.isoformat(), "source": source,
                                             "options": len(options), "futures": len(futures)})
    return Capture(bucket=bucket, source=source, options=len(options), futures=len(futures))


# --- rows -----------------------------------------------------------------------------------------

def _best(levels) -> Decimal | None:
    return levels[0].price if levels else None


def _pricing_price(quote: Quote) -> float | None:
    """Mid of a two-sided quote, the last price when a side is missing, None when crossed."""
    bid, ask = _best(quote.bids), _best(quote.asks)
    if bid is not None and ask is not None:
        return None if bid > ask else float(bid + ask) / 2.0
    return float(quote.last_price) if quote.last_price is not None else None


def _money(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(repr(value)).quantize(CENT)


def _option_rows(chain: Chain, bucket: datetime, source: str) -> list[dict]:
    expiries: dict = defaultdict(list)
    futures: dict = {}
    for contract, quote in chain.contracts:
        if contract.instrument_type == "FUT":
            futures[contract.expiry] = _pricing_price(quote)
        elif quote.last_price is not None or quote.bids or quote.asks:  # one the broker did not answer for: no row
            expiries[contract.expiry].append((contract, quote))
    spot = chain.spot.last_price if chain.spot is not None else None
    rows = []
    for expiry, listed in expiries.items():
        years = years_to_expiry(expiry, chain.priced_at)
        prices = [_pricing_price(quote) for _, quote in listed]
        calls, puts = {}, {}
        for (contract, _), price in zip(listed, prices):
            (calls if contract.instrument_type == "CE" else puts)[float(contract.strike)] = price
        strikes = sorted(calls.keys() | puts.keys())
        forward = chain_forward(strikes=strikes, calls=[calls.get(k) for k in strikes],
                                puts=[puts.get(k) for k in strikes], future=futures.get(expiry), years=years,
                                rate=rate())
        greeks = chain_greeks(prices=prices, strikes=[float(c.strike) for c, _ in listed],
                              option_types=[c.instrument_type for c, _ in listed], forward=forward, years=years,
                              rate=rate())
        for (contract, quote), greek in zip(listed, greeks):
            rows.append(_option_row(chain.underlying, contract, quote, bucket, source, spot, forward, greek))
    return rows


def _option_row(underlying: str, contract: Contract, quote: Quote, bucket: datetime, source: str,
                spot: Decimal | None, forward: float | None, greek=NO_GREEKS) -> dict:
    return {"underlying": underlying, "expiry": contract.expiry, "strike": contract.strike,
            "option_type": contract.instrument_type, "bucket": bucket, "tradingsymbol": contract.tradingsymbol,
            "ltp": quote.last_price, "bid": _best(quote.bids), "ask": _best(quote.asks), "volume": quote.volume or 0,
            "oi": quote.oi or 0, "underlying_price": spot, "future_price": _money(forward), "iv": greek.iv,
            "delta": greek.delta, "gamma": greek.gamma, "theta": greek.theta, "vega": greek.vega, "source": source}


def _future_rows(chain: Chain, bucket: datetime, source: str, previous: dict[str, Decimal]) -> list[dict]:
    spot = chain.spot.last_price if chain.spot is not None else None
    rows = []
    for contract, quote in chain.contracts:
        if contract.instrument_type != "FUT" or quote.last_price is None:
            continue
        close = quote.last_price
        opened = previous.get(contract.tradingsymbol, close)
        rows.append({"underlying": chain.underlying, "contract": contract.tradingsymbol, "expiry": contract.expiry,
                     "bucket": bucket, "open": opened, "high": max(opened, close), "low": min(opened, close),
                     "close": close, "volume": quote.volume or 0, "oi": quote.oi or 0, "underlying_price": spot,
                     "source": source})
    return rows
