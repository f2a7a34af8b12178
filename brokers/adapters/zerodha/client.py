"""The only module that calls kiteconnect; turns its failures into BrokerErrors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import requests
from django.conf import settings
from kiteconnect import KiteConnect
from kiteconnect import exceptions as kite_errors

from brokers.adapters.base import (
    BrokerAuthRejected,
    BrokerError,
    BrokerOrderRejected,
    BrokerSessionExpired,
    BrokerTimeout,
    BrokerUnavailable,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")


class ZerodhaClient:
    """A KiteConnect client for one account, with BudhiTrade's timeouts and errors."""

    def __init__(self, *, api_key: str, access_token: str | None = None) -> None:
        self._kite = KiteConnect(
            api_key=api_key,
            access_token=access_token or None,
            root=settings.ZERODHA_API_ROOT,
            timeout=settings.BROKER_TIMEOUT_SECONDS,
        )

    def login_url(self) -> str:
        """Kite's login page for this API key (no network call)."""
        return self._kite.login_url()

    def generate_session(self, *, request_token: str, api_secret: str) -> dict[str, Any]:
        """POST /session/token: exchange a request token for an access token."""
        return self._call(
            lambda: self._kite.generate_session(request_token, api_secret=api_secret),
            rejected="Zerodha rejected the login: the request token has expired or was "
            "already used, or the API key and secret do not match. Log in again.",
        )

    def invalidate_access_token(self) -> None:
        """DELETE /session/token: end the session at Kite."""
        self._call(self._kite.invalidate_access_token)

    def holdings(self) -> list[dict[str, Any]]:
        """GET /portfolio/holdings: the account's delivery holdings."""
        return self._call(self._kite.holdings)

    def positions(self) -> dict[str, Any]:
        """GET /portfolio/positions: the "net" and "day" position lists."""
        return self._call(self._kite.positions)

    def margins(self) -> dict[str, Any]:
        """GET /user/margins: funds for the equity and commodity segments."""
        return self._call(self._kite.margins)

    def place_order(self, params: dict[str, Any]) -> str:
        """POST /orders/:variety: the new order's id (`params` carries the variety)."""
        return str(self._order_call(lambda: self._kite.place_order(**params)))

    def modify_order(self, *, variety: str, order_id: str, params: dict[str, Any]) -> str:
        """PUT /orders/:variety/:order_id: the order's id."""
        return str(self._order_call(lambda: self._kite.modify_order(variety, order_id, **params)))

    def cancel_order(self, *, variety: str, order_id: str) -> str:
        """DELETE /orders/:variety/:order_id: the order's id."""
        return str(self._order_call(lambda: self._kite.cancel_order(variety, order_id)))

    def instruments(self) -> list[dict[str, Any]]:
        """GET /instruments: the day's whole instrument master (a CSV the SDK parses into rows)."""
        return self._call(self._kite.instruments)

    def orders(self) -> list[dict[str, Any]]:
        """GET /orders: the day's order book."""
        return self._call(self._kite.orders)

    def order_history(self, order_id: str) -> list[dict[str, Any]]:
        """GET /orders/:order_id: every state of one order, oldest first."""
        return self._call(lambda: self._kite.order_history(order_id))

    def trades(self) -> list[dict[str, Any]]:
        """GET /trades: the day's trade book."""
        return self._call(self._kite.trades)

    def quotes(self, call: str, keys: list[str]) -> dict[str, dict[str, Any]]:
        """GET /quote, /quote/ohlc or /quote/ltp (`call`): each asked instrument Kite knows, by its key."""
        operation = {"quote": self._kite.quote, "ohlc": self._kite.ohlc, "ltp": self._kite.ltp}[call]
        return self._call(lambda: operation(keys)) or {}

    def _order_call(self, operation: Callable[[], T]) -> T:
        """An order write: Kite refusing the order is a rejection with Kite's reason, not a broker failure."""

        def refusals_as_rejections() -> T:
            try:
                return operation()
            except (kite_errors.InputException, kite_errors.OrderException) as exc:
                raise BrokerOrderRejected(_kite_message(exc)) from exc
            except kite_errors.GeneralException as exc:
                # kiteconnect has no class for Kite's MarginException,
                # HoldingException or UserException ("Insufficient funds ..."):
                # they arrive as GeneralException with Kite's HTTP 400.
                if exc.code == 400:
                    raise BrokerOrderRejected(_kite_message(exc)) from exc
                raise

        return self._call(refusals_as_rejections)

    def _call(self, operation: Callable[[], T], *, rejected: str | None = None) -> T:
        try:
            return operation()
        except requests.Timeout as exc:
            raise BrokerTimeout("Zerodha did not answer in time.") from exc
        except requests.ConnectionError as exc:
            raise BrokerUnavailable("Zerodha cannot be reached right now.") from exc
        except requests.RequestException as exc:
            raise BrokerError("The request to Zerodha failed.") from exc
        except kite_errors.TokenException as exc:
            if rejected:
                raise BrokerAuthRejected(rejected) from exc
            raise BrokerSessionExpired(
                "The Zerodha session has expired or was revoked; reconnect the account."
            ) from exc
        except (kite_errors.InputException, kite_errors.PermissionException) as exc:
            if rejected:
                raise BrokerAuthRejected(rejected) from exc
            raise BrokerError(f"Zerodha refused the request: {_kite_message(exc)}") from exc
        except kite_errors.KiteException as exc:
            logger.warning("zerodha_api_error", extra={"error_type": type(exc).__name__, "code": exc.code})
            raise BrokerError(f"Zerodha failed to answer (HTTP {exc.code}).") from exc
        except (KeyError, ValueError, TypeError) as exc:
            # kiteconnect indexes the response without checking it (no
            # Content-Type, no "data"): an answer it cannot read.
            logger.warning("zerodha_api_error", extra={"error_type": type(exc).__name__})
            raise BrokerError("Zerodha returned an answer that could not be read.") from exc


def _kite_message(exc: kite_errors.KiteException) -> str:
    """Kite's own sentence; kiteconnect documents `.message` but only sets the exception's args."""
    return str(exc)
