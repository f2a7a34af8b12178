"""Whom and which account a seed 001 request acts on: its `user_id`, then the contract's "the" account.

Seed 001 names a user in every request (`user_id`, in the body or the
query). Here the JWT decides: `user_id` may name the caller (by id or
username) and is then the caller; absent or blank it is the caller too;
anyone else's is 404, as if no such user existed. Staff may name any user,
and then act on that user's accounts. "The" account is then found as the
unified API finds it (X-Account-ID, else ?broker=, else the only one) among
that user's accounts.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from brokers.lookup import connection_from_request
from brokers.market.listing import market_connection
from brokers.models import BrokerConnection
from brokers.selectors import connection_resolve
from budhitrade.errors import InvalidInput, NotFound

NO_SUCH_USER = "No such user."


def _user_id_given(request) -> str | None:
    """`user_id` from the body (a JSON object), else the query; None when absent or blank."""
    body = request.data if isinstance(request.data, dict) else {}
    raw = body["user_id"] if body.get("user_id") not in (None, "") else request.query_params.get("user_id")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise InvalidInput("user_id is your user id or username.", errors={"user_id": ["A string or a number."]})
    return str(raw).strip() or None


def acting_user(request):
    """The user `user_id` names: the caller's own id or username, else (staff only) anyone's; 404 otherwise."""
    caller = request.user
    named = _user_id_given(request)
    if named is None or named in (str(caller.pk), caller.username):
        return caller
    if not caller.is_staff:
        raise NotFound(NO_SUCH_USER)
    users = get_user_model().objects
    # A username first: a username may be digits, and then it is what the caller wrote.
    by_id = named.isdigit() and len(named) <= 18  # a primary key, not a number past bigint
    found = users.filter(username=named).first() or (users.filter(pk=int(named)).first() if by_id else None)
    if found is None:
        raise NotFound(NO_SUCH_USER)
    return found


def _as_user(user, resolve):
    """`resolve`, asked for `user`'s accounts whoever made the request."""
    return lambda **lookup: resolve(**{**lookup, "user": user})


def account_for(request, *, resolve=connection_resolve) -> BrokerConnection:
    """"The" account of the acting user, as connection_from_request finds it (`resolve` picks it)."""
    return connection_from_request(request, resolve=_as_user(acting_user(request), resolve))


def market_account_for(request) -> BrokerConnection | None:
    """"The" account of a quote, as the market endpoints find it (None: the paper market), of the acting user."""
    return market_connection(request, resolve=_as_user(acting_user(request), connection_resolve))

