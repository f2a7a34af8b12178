"""Writes to broker connections: connect, verify, disconnect, expire."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from brokers.adapters.base import BrokerError, BrokerSessionExpired
from brokers.adapters.registry import adapter_class, adapter_for
from brokers.budgets import connection_call_wait  # noqa: F401  (the budget every broker call takes from)
from brokers.consumers import connections_group
from brokers.domain import ConnectionStatus, LoginStep
from brokers.models import BrokerConnection
from brokers.selectors import PENDING
from budhitrade.errors import Conflict, InvalidInput, NotFound
from budhitrade.publish import group_push

logger = logging.getLogger("budhitrade.brokers")
LOGIN_STATE_SALT = "brokers.login-state"


def _event(name: str, connection: BrokerConnection, **fields: Any) -> None:
    logger.info(
        name,
        extra={
            "user_id": connection.user_id,
            "broker": connection.broker,
            "account_id": connection.account_id,
            "connection_id": str(connection.pk),
            **fields,
        },
    )


def _publish(connection: BrokerConnection) -> None:
    """Tell the user's open sockets, once the change is committed, from whichever process made it."""
    payload = {
        "type": "connection_update",
        "connection_id": str(connection.pk),
        "broker": connection.broker,
        "account_id": connection.account_id,
        "status": connection.status,
        "last_error": connection.last_error,
        "timestamp": timezone.now().isoformat(),
    }
    group = connections_group(connection.user_id)

    transaction.on_commit(lambda: group_push(group, {"type": "connection.update", "payload": payload}))


def _record_error(connection: BrokerConnection, error: BrokerError) -> None:
    """Keep the connection's state and note why the broker call failed."""
    if isinstance(error, BrokerSessionExpired):
        connection_expire(connection=connection, reason=error.detail)
        return
    if connection._state.adding:
        return
    connection.last_error = error.detail
    BrokerConnection.objects.filter(pk=connection.pk).update(
        last_error=error.detail, updated_at=timezone.now()
    )


def _apply_step(connection: BrokerConnection, step: LoginStep) -> None:
    connection.status = step.status
    connection.session = dict(step.session)
    connection.account_id = step.account_id or connection.account_id
    connection.last_error = ""
    if step.status == ConnectionStatus.CONNECTED:
        connection.last_connected_at = timezone.now()
        connection.session_expires_at = step.expires_at
        connection.user_name = step.profile.get("user_name", "") or connection.user_name
    else:
        connection.session_expires_at = None


def login_state_sign(connection_id) -> str:
    """A signed, expiring reference to a pending connection, carried through a broker redirect."""
    return signing.dumps(str(connection_id), salt=LOGIN_STATE_SALT)


def login_state_read(state: str) -> str:
    try:
        return signing.loads(state, salt=LOGIN_STATE_SALT, max_age=settings.ZERODHA_LOGIN_STATE_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise InvalidInput("The login link has expired; start the connection again.") from exc
    except signing.BadSignature as exc:
        raise InvalidInput("The login state is not valid.") from exc


def _reusable_connection(*, user, broker: str, account_id: str) -> BrokerConnection | None:
    """The connection a new login continues: the same account, or an unfinished one with none."""
    connections = BrokerConnection.objects.filter(user=user, broker=broker)
    if account_id:
        return connections.filter(account_id=account_id).first()
    if adapter_class(broker).opens_new_account:
        return None
    return connections.filter(account_id="", status__in=PENDING).first()


def connection_initiate(
    *,
    user,
    broker: str,
    credentials: Mapping[str, Any],
    options: Mapping[str, Any],
    otp: str = "",
) -> tuple[BrokerConnection, LoginStep]:
    """Start connecting a broker account; for the paper broker this finishes it."""
    cls = adapter_class(broker)
    account_hint = cls.account_id_hint(credentials)
    existing = _reusable_connection(user=user, broker=broker, account_id=account_hint)
    connection = existing or BrokerConnection(user=user, broker=broker, account_id=account_hint)
    adapter = cls(credentials=credentials, session={}, options=options, account_id=account_hint)
    try:
        step = adapter.login_start(otp=otp, state=login_state_sign(connection.pk))
    except BrokerError as error:
        _record_error(connection, error)
        _event(f"{broker}_session_creation_failed", connection, reason=error.detail)
        raise
    with transaction.atomic():
        connection.credentials = dict(credentials)
        connection.options = dict(options)
        _apply_step(connection, step)
        connection.save()
        _publish(connection)
    if step.login_url:
        _event(f"{broker}_login_url_generated", connection)
    _event(f"{broker}_login_started", connection, status=connection.status)
    if connection.is_connected:
        _event("brokerage_activated", connection)
    return connection, step


def connection_verify(*, connection: BrokerConnection, secret: str) -> BrokerConnection:
    """Finish a pending login with its second factor (MPIN, request token)."""
    if connection.status not in PENDING:
        raise Conflict(
            f"This connection is not waiting to be verified (status: {connection.status}); "
            "start again with /broker/connect/initiate."
        )
    try:
        step = adapter_for(connection).login_complete(secret=secret)
    except BrokerError as error:
        _record_error(connection, error)
        _event(f"{connection.broker}_session_creation_failed", connection, reason=error.detail)
        raise
    with transaction.atomic():
        target = connection
        if step.account_id and step.account_id != connection.account_id:
            twin = (
                BrokerConnection.objects.select_for_update()
                .filter(user_id=connection.user_id, broker=connection.broker, account_id=step.account_id)
                .exclude(pk=connection.pk)
                .first()
            )
            if twin is not None:
                # Reconnecting an account the user already had: keep one row.
                twin.credentials, twin.options = connection.credentials, connection.options
                connection.delete()
                target = twin
        _apply_step(target, step)
        target.save()
        _publish(target)
    _event(f"{target.broker}_session_created", target)
    _event("brokerage_activated", target)
    return target


def connection_complete_redirect(*, state: str, request_token: str, status: str) -> BrokerConnection:
    """Finish a login the broker redirected back to us (Kite's request_token)."""
    connection = BrokerConnection.objects.filter(pk=login_state_read(state)).first()
    if connection is None:
        raise NotFound("The connection this login belongs to no longer exists.")
    if status != "success" or not request_token:
        raise InvalidInput("The broker login was not completed.")
    return connection_verify(connection=connection, secret=request_token)


def connection_disconnect(*, connection: BrokerConnection) -> BrokerConnection:
    """Log out at the broker where it can, and wipe the stored session whatever it answers.

    Disconnecting a disconnected connection changes nothing and asks the broker nothing.
    """
    if connection.status == ConnectionStatus.DISCONNECTED:
        return connection
    last_error = ""
    try:
        adapter_for(connection).logout()
    except BrokerError as error:
        last_error = f"Logout at the broker failed ({error.detail}); the stored session was wiped."
        _event(f"{connection.broker}_logout_failed", connection, reason=error.detail)
    connection.status = ConnectionStatus.DISCONNECTED
    connection.session = {}
    connection.session_expires_at = None
    connection.last_error = last_error
    connection.save()
    _publish(connection)
    _event("broker_disconnected", connection)
    return connection


def connection_expire(*, connection: BrokerConnection, reason: str) -> BrokerConnection:
    """Mark a session expired and drop its tokens; the user reconnects to trade again."""
    connection.status = ConnectionStatus.EXPIRED
    connection.session = {}
    connection.last_error = reason
    connection.save(update_fields=["status", "session", "last_error", "updated_at"])
    _publish(connection)
    _event(f"{connection.broker}_session_expired", connection, reason=reason)
    return connection


def connection_expire_due(*, now: datetime | None = None) -> int:
    """Expire every connected session whose validity has ended."""
    now = now or timezone.now()
    due = BrokerConnection.objects.filter(
        status=ConnectionStatus.CONNECTED, session_expires_at__lte=now
    )
    count = 0
    for connection in due.iterator():
        connection_expire(connection=connection, reason="The broker session reached the end of its validity.")
        count += 1
    return count
