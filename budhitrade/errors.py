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
