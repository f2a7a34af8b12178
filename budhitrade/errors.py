"""Errors that services raise and the API turns into the contract's shape."""

from __future__ import annotations


class ServiceError(Exception):
    """A failure with a status code and a sentence a user can act on."""

    status_code = 400
    default_detail = "The request could not be completed."

    def __init__(self, detail: str | None = None, *, errors: dict | None = None):
        self.detail = detail or self.default_detail
        self.errors = errors
        super().__init__(self.detail)

    def extra_body(self) -> dict:
        """More keys for the error body, beside the contract's detail and status_code."""
        return {}


class InvalidInput(ServiceError):
    """The request is well-formed but its values cannot be used."""

    status_code = 400


class Forbidden(ServiceError):
    """The caller may not do this (a request no account signs, for one)."""

    status_code = 403
    default_detail = "Not allowed."


class NotFound(ServiceError):
    """The thing does not exist, or belongs to someone else."""

    status_code = 404
    default_detail = "Not found."


class Conflict(ServiceError):
    """The thing is not in a state that allows the request."""

    status_code = 409


class ServiceUnavailable(ServiceError):
    """A service BudhiTrade depends on (its database, Redis) cannot be reached; retrying later will do."""

    status_code = 503
    default_detail = "BudhiTrade is briefly unavailable; try again shortly."
    retry_after_seconds = 5


def _outage_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    """(database outage errors, Redis outage errors), imported late so this module stays import-light."""
    import kombu.exceptions
    import psycopg_pool
    import redis.exceptions
    from django.db import utils

    database = (utils.OperationalError, utils.InterfaceError, psycopg_pool.PoolTimeout)
    # kombu's OperationalError is a task that could not be queued: its broker is Redis.
    cache = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, kombu.exceptions.OperationalError)
    return database, cache


def outage_of(error: BaseException) -> ServiceUnavailable | None:
    """The 503 for an error that is (or was caused by) the database or Redis being unreachable, else None."""
    database, cache = _outage_types()
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, database):
            return ServiceUnavailable("The database is unavailable; try again shortly.")
        if isinstance(error, cache):
            return ServiceUnavailable("Redis is unavailable; try again shortly.")
        error = error.__cause__ or error.__context__
    return None
