"""Seed 001's login: TOTP then MPIN, starting (or resuming) and completing a Kotak Neo connection.

Seed 001 kept each user's Kotak tokens in memory and answered them to the
client. Here the user's connection is made by the same services as
/broker/connect/initiate and /broker/connect/verify (so a login here is a
connection there), Kotak's view and trade tokens stay encrypted in it, and
the answer names BudhiTrade's connection instead: no broker token is ever
returned.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema

from brokers import selectors, services
from brokers.domain import Broker
from brokers.serializers import KotakNeoInitiateInputSerializer
from budhitrade.errors import InvalidInput
from budhitrade.parsers import json_object
from compat.kotak_integration import vocabulary as words
from compat.kotak_integration.access import acting_user
from compat.kotak_integration.envelope import TAG, EnvelopeView, answer
from compat.kotak_integration.serializers import (
    MPIN_LOGIN_OUTPUT,
    TOTP_LOGIN_OUTPUT,
    KotakIntegrationMpinLoginInputSerializer,
    KotakIntegrationTotpLoginInputSerializer,
)



def _login_data(connection) -> dict:
    return {"connection_id": str(connection.pk), "status": connection.status,
            "kType": words.k_type(connection.status)}


class KotakIntegrationTotpLoginView(EnvelopeView):
    """Seed 001 step 1: the TOTP login, starting (or resuming) the user's Kotak Neo connection."""

    @extend_schema(operation_id="kotak_integration_login_totp", tags=[TAG],
                   request=KotakIntegrationTotpLoginInputSerializer,
                   responses={200: TOTP_LOGIN_OUTPUT})
    def post(self, request):
        body = json_object(request)
        user = acting_user(request)
        unified = {words.LOGIN_FIELDS.get(name, name): value for name, value in body.items() if name != "user_id"}
        serializer = KotakNeoInitiateInputSerializer(data=unified)
        if not serializer.is_valid():
            raise InvalidInput("Invalid input.", errors=words.seed_errors(serializer.errors, words.SEED_LOGIN_NAMES))
        credentials, options, otp = serializer.login_parts()
        connection, _ = services.connection_initiate(
            user=user, broker=Broker.KOTAK_NEO, credentials=credentials, options=options, otp=otp)
        return answer(_login_data(connection), "TOTP login successful")


class KotakIntegrationMpinLoginView(EnvelopeView):
    """Seed 001 step 2: the MPIN, which completes the login: the connection is then connected."""

    @extend_schema(operation_id="kotak_integration_login_mpin", tags=[TAG],
                   request=KotakIntegrationMpinLoginInputSerializer,
                   responses={200: MPIN_LOGIN_OUTPUT})
    def post(self, request):
        user = acting_user(request)
        serializer = KotakIntegrationMpinLoginInputSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        connection = selectors.connection_mpin_pending_get(
            user=user, connection_id=serializer.validated_data.get("connection_id"),
            first_step="/api/brokers/kotak/login/totp")
        connection = services.connection_verify(connection=connection, secret=serializer.validated_data["mpin"])
        return answer({**_login_data(connection), "account_id": connection.account_id}, "MPIN validation successful")
