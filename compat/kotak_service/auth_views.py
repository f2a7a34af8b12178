"""Seed 002's login paths: TOTP then MPIN, creating or resuming the caller's own Kotak Neo connection, and logout.

Seed 002 kept one global session; here each caller (their JWT) has their
own connections, made by the same services as /broker/connect/initiate and
/broker/connect/verify, so a login here is a connection there.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers import selectors, services
from brokers.domain import Broker, ConnectionStatus
from brokers.lookup import connection_from_request
from brokers.market import registry
from brokers.serializers import KotakNeoInitiateInputSerializer
from brokers.views import ACCOUNT_PARAMETERS
from budhitrade.parsers import json_object
from compat.kotak_service.serializers import (
    LOGIN_OUTPUT,
    LOGOUT_OUTPUT,
    TOTP_LOGIN_INPUT,
    TotpValidateInputSerializer,
)

TAG = "Kotak Neo microservice (seed 002 paths)"



def _login_answer(connection, message: str) -> Response:
    data = {"connection_id": str(connection.pk), "status": connection.status, "broker": connection.broker}
    if connection.account_id:
        data["account_id"] = connection.account_id
    return Response({"status": "success", "data": data, "message": message})


class KotakServiceTotpLoginView(APIView):
    """Seed 002 step 1: the TOTP login, starting (or resuming) the caller's Kotak Neo connection."""

    @extend_schema(operation_id="kotak_service_totp_login", tags=[TAG], request=TOTP_LOGIN_INPUT,
                   responses={200: LOGIN_OUTPUT})
    def post(self, request):
        serializer = KotakNeoInitiateInputSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        credentials, options, otp = serializer.login_parts()
        connection, step = services.connection_initiate(
            user=request.user, broker=Broker.KOTAK_NEO, credentials=credentials, options=options, otp=otp)
        # The adapter's message points to /broker/connect/verify; a seed 002 client sends its MPIN here.
        message = ("TOTP accepted; send your MPIN to /api/auth/totp-validate to complete the login."
                   if connection.status == ConnectionStatus.PENDING_MPIN else step.message)
        return _login_answer(connection, message)


class KotakServiceTotpValidateView(APIView):
    """Seed 002 step 2: the MPIN, which completes the login: the connection is then connected."""

    @extend_schema(operation_id="kotak_service_totp_validate", tags=[TAG], request=TotpValidateInputSerializer,
                   responses={200: LOGIN_OUTPUT})
    def post(self, request):
        serializer = TotpValidateInputSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        connection = selectors.connection_mpin_pending_get(
            user=request.user, connection_id=serializer.validated_data.get("connection_id"),
            first_step="/api/auth/totp-login")
        connection = services.connection_verify(connection=connection, secret=serializer.validated_data["mpin"])
        return _login_answer(connection, "Broker connected successfully")


def sockets_close(*, connection) -> int:
    """Close the caller's market sockets that stream this account; how many were told."""
    closed = 0
    for client_id in registry.clients_list(user_id=connection.user_id):
        record = registry.client_find(client_id, user_id=connection.user_id)
        if record is None or record.get("account") != connection.account_id:
            continue
        async_to_sync(get_channel_layer().send)(record["channel"], {
            "type": "market.control", "action": "disconnect", "reason": "Logged out through /api/auth/logout."})
        closed += 1
    return closed


class KotakServiceLogoutView(APIView):
    """Seed 002's logout: "the" account is disconnected (its broker session ended and wiped) and the market
    sockets streaming it are closed."""

    @extend_schema(operation_id="kotak_service_logout", tags=[TAG], request=None, parameters=ACCOUNT_PARAMETERS,
                   responses={200: LOGOUT_OUTPUT})
    def post(self, request):
        # Logging out again (the account already disconnected) is the same success, as /broker/disconnect.
        connection = connection_from_request(request, resolve=selectors.connection_status_get)
        services.connection_disconnect(connection=connection)
        sockets_close(connection=connection)
        return Response({"message": "Logged out successfully", "websockets_closed": True})
