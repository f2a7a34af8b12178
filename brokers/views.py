"""Broker-connection endpoints: thin views over brokers.services."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers import selectors, services
from brokers.adapters.base import BrokerError
from brokers.lookup import connection_from_request
from brokers.serializers import (
    INITIATE_SERIALIZERS,
    RETIRED_KOTAK_LOGIN,
    BrokerStatusOutputSerializer,
    ConnectInitiateInputSerializer,
    ConnectInitiateOutputSerializer,
    ConnectVerifyInputSerializer,
    ConnectVerifyOutputSerializer,
    MessageOutputSerializer,
    ZerodhaCallbackInputSerializer,
)
from budhitrade.errors import InvalidInput, ServiceError
from budhitrade.parsers import json_object

ACCOUNT_PARAMETERS = [
    OpenApiParameter("X-Account-ID", str, OpenApiParameter.HEADER, required=False,
                     description="The broker's client id of the account meant."),
    OpenApiParameter("broker", str, OpenApiParameter.QUERY, required=False, enum=["kotak_neo", "zerodha", "paper"]),
    OpenApiParameter("connection_id", str, OpenApiParameter.QUERY, required=False),
]


class ConnectInitiateView(APIView):
    """Start connecting a Kotak Neo (TOTP), Zerodha (login URL) or paper account."""

    @extend_schema(
        request=inline_serializer(
            "ConnectInitiateInput",
            {
                "broker": serializers.ChoiceField(choices=["kotak_neo", "zerodha", "paper"]),
                "consumer_key": serializers.CharField(required=False),
                "consumer_secret": serializers.CharField(required=False),
                "mobile_number": serializers.CharField(required=False),
                "ucc": serializers.CharField(required=False),
                "totp": serializers.CharField(required=False),
                "environment": serializers.ChoiceField(choices=["prod", "uat"], required=False),
                "api_key": serializers.CharField(required=False),
                "api_secret": serializers.CharField(required=False),
                "opening_cash": serializers.DecimalField(max_digits=14, decimal_places=2, required=False),
            },
        ),
        responses={200: ConnectInitiateOutputSerializer},
    )
    def post(self, request):
        choice = ConnectInitiateInputSerializer(data=json_object(request))
        choice.is_valid(raise_exception=True)
        broker = choice.validated_data["broker"]
        serializer = INITIATE_SERIALIZERS[broker](data=request.data)
        serializer.is_valid(raise_exception=True)
        credentials, options, otp = serializer.login_parts()
        connection, step = services.connection_initiate(
            user=request.user, broker=broker, credentials=credentials, options=options, otp=otp
        )
        body = {"message": step.message, "status": connection.status, "connection_id": connection.pk}
        if connection.account_id:
            body["account_id"] = connection.account_id
        if step.login_url:
            body["login_url"] = step.login_url
        return Response(ConnectInitiateOutputSerializer(body).data)


class ConnectVerifyView(APIView):
    """Finish a pending connection: Kotak Neo MPIN (`mpin`, or 000's `otp`) or Zerodha `request_token`."""

    @extend_schema(request=ConnectVerifyInputSerializer, responses={200: ConnectVerifyOutputSerializer})
    def post(self, request):
        serializer = ConnectVerifyInputSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        connection = selectors.connection_pending_get(
            user=request.user, connection_id=data.get("connection_id")
        )
        wants_request_token = connection.status == "pending_login"
        if wants_request_token != (data["secret_kind"] == "request_token"):
            raise InvalidInput(
                "This connection needs a request_token." if wants_request_token
                else "This connection needs the MPIN (mpin or otp)."
            )
        connection = services.connection_verify(connection=connection, secret=data["secret"])
        return Response(
            ConnectVerifyOutputSerializer(
                {
                    "message": "Broker connected successfully",
                    "status": connection.status,
                    "account_id": connection.account_id,
                    "connection_id": connection.pk,
                }
            ).data
        )


class ZerodhaCallbackView(APIView):
    """Kite's redirect target: completes the pending connection named by `state`, then back to the frontend."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[
            OpenApiParameter("state", str, required=True),
            OpenApiParameter("request_token", str, required=False),
            OpenApiParameter("status", str, required=False),
        ],
        responses={302: None},
    )
    def get(self, request):
        serializer = ZerodhaCallbackInputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            connection = services.connection_complete_redirect(
                state=data["state"], request_token=data["request_token"], status=data["status"]
            )
        except BrokerError as error:
            return self._to_frontend(status="error", detail=error.detail)
        except ServiceError as error:
            if error.status_code == 409:
                return self._to_frontend(status="error", detail=error.detail)
            raise
        return self._to_frontend(status="connected", account_id=connection.account_id)

    @staticmethod
    def _to_frontend(**params) -> HttpResponseRedirect:
        separator = "&" if "?" in settings.FRONTEND_URL else "?"
        query = urlencode({"broker": "zerodha", **params})
        return HttpResponseRedirect(f"{settings.FRONTEND_URL}{separator}{query}")


class BrokerStatusView(APIView):
    """The connection status of "the" account (000's shape), a disconnected one included."""

    @extend_schema(parameters=ACCOUNT_PARAMETERS, responses={200: BrokerStatusOutputSerializer})
    def get(self, request):
        # A disconnected account answers its status ("disconnected"), not a 404.
        connection = connection_from_request(request, resolve=selectors.connection_status_get)
        return Response(
            BrokerStatusOutputSerializer(connection).data | {"is_connected": connection.is_connected}
        )


class BrokerDisconnectView(APIView):
    """Log out at the broker where it can and wipe the stored session."""

    @extend_schema(parameters=ACCOUNT_PARAMETERS, request=None, responses={200: MessageOutputSerializer})
    def post(self, request):
        # Disconnecting the account again (its status says "disconnected") is the same success.
        services.connection_disconnect(
            connection=connection_from_request(request, resolve=selectors.connection_status_get))
        return Response({"message": "Broker disconnected successfully"})


class RetiredKotakLoginView(APIView):
    """Kotak's QR login (002) is retired upstream: always 400, pointing to TOTP."""

    @extend_schema(request=None, responses={400: None})
    def post(self, request):
        raise InvalidInput(RETIRED_KOTAK_LOGIN)
