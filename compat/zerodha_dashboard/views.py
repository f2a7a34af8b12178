"""Seed 003's paths: API credential setup, the login URL, activation by request_token, and the dashboard.

Each is the unified API's own service under seed 003's words: the setup
starts a connection as POST /broker/connect/initiate does, the activation
completes it as POST /broker/connect/verify does, the dashboard is
GET /dashboard. Seed 003 answered `session_id` with the broker's access
token; BudhiTrade never returns a broker token, so `session_id` is its own
connection id. Errors are the contract's (seed 003 has no envelope).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers import services
from brokers.domain import Broker, ConnectionStatus
from brokers.models import BrokerConnection
from brokers.views import ACCOUNT_PARAMETERS
from budhitrade.errors import NotFound
from budhitrade.parsers import json_object
from compat.zerodha_dashboard.serializers import (
    ACTIVATE_OUTPUT,
    LOGIN_URL_OUTPUT,
    SETUP_OUTPUT,
    ActivateInputSerializer,
    ApiSetupInputSerializer,
)
from portfolio.dashboard import DASHBOARD_OUTPUT, DashboardView

TAG = "Zerodha dashboard (seed 003 paths)"
LOGIN_MESSAGE = ("Open this URL in your browser to login to Zerodha. After login, you'll get a request_token to "
                 "use for activation.")
NO_CREDENTIALS = "No Zerodha API credentials are set up; POST them to /api/v1/auth/first-time-api-setup first."



def _latest(request, broker: Broker, *, status: str | None = None) -> BrokerConnection | None:
    """The caller's newest connection to `broker` (X-Account-ID narrows it to that account)."""
    connections = BrokerConnection.objects.filter(user=request.user, broker=broker)
    account_id = request.headers.get("X-Account-ID", "").strip()
    if account_id:
        connections = connections.filter(account_id__iexact=account_id)
        if not connections.exists():
            raise NotFound("No such broker account.")
    if status is not None:
        connections = connections.filter(status=status)
    return connections.order_by("-updated_at").first()


def _login(request, broker: Broker, credentials: dict, options: dict | None = None):
    """Start (or resume) a login with these credentials: the connection and its login step."""
    return services.connection_initiate(user=request.user, broker=broker, credentials=credentials,
                                        options=options or {})


class ZerodhaDashboardApiSetupView(APIView):
    """Seed 003 step 2: the broker's API key and secret, stored encrypted; a login is started for them."""

    @extend_schema(operation_id="zerodha_dashboard_api_setup", tags=[TAG], request=ApiSetupInputSerializer,
                   responses={200: SETUP_OUTPUT})
    def post(self, request):
        serializer = ApiSetupInputSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        broker = serializer.validated_data.pop("broker")
        credentials, options, _ = serializer.login_parts()
        connection, step = _login(request, broker, credentials, options)
        return Response({"message": "API credentials saved. Get the login URL from "
                                    "/api/v1/dashboard/zerodha/login-url, log in, then activate with the "
                                    "request_token at /api/v1/dashboard/activate-brokerage.",
                         "broker": connection.broker, "connection_id": str(connection.pk),
                         "status": connection.status, "login_url": step.login_url})


class ZerodhaDashboardLoginUrlView(APIView):
    """Seed 003 step 3: Kite's login URL for the login waiting for its request_token, or for a fresh login with
    the API credentials last set up (an account whose daily session expired logs in again this way)."""

    @extend_schema(operation_id="zerodha_dashboard_login_url", tags=[TAG], parameters=ACCOUNT_PARAMETERS[:1],
                   responses={200: LOGIN_URL_OUTPUT})
    def get(self, request):
        source = (_latest(request, Broker.ZERODHA, status=ConnectionStatus.PENDING_LOGIN)
                  or _latest(request, Broker.ZERODHA))
        if source is None or not source.credentials:
            raise NotFound(NO_CREDENTIALS)
        connection, step = _login(request, Broker.ZERODHA, dict(source.credentials), dict(source.options))
        return Response({"login_url": step.login_url, "message": LOGIN_MESSAGE, "connection_id": str(connection.pk)})


class ZerodhaDashboardActivateView(APIView):
    """Seed 003 step 5: the request_token completes the login (with api_key and api_secret, one started for
    them; without, the one waiting)."""

    @extend_schema(operation_id="zerodha_dashboard_activate", tags=[TAG], request=ActivateInputSerializer,
                   parameters=ACCOUNT_PARAMETERS[:1], responses={200: ACTIVATE_OUTPUT})
    def post(self, request):
        serializer = ActivateInputSerializer(data=json_object(request))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        broker = data["brokerage"]
        if "api_key" in data:
            pending, _ = _login(request, broker, {"api_key": data["api_key"], "api_secret": data["api_secret"]})
        else:
            pending = _latest(request, broker, status=ConnectionStatus.PENDING_LOGIN)
            if pending is None:
                raise NotFound("No Zerodha login is waiting for a request_token; get one from "
                               "/api/v1/dashboard/zerodha/login-url (or send api_key and api_secret too).")
        connection = services.connection_verify(connection=pending, secret=data["request_token"])
        return Response({"message": f"{connection.broker} activated successfully", "session_id": str(connection.pk),
                         "account_id": connection.account_id, "status": connection.status})


class ZerodhaDashboardView(DashboardView):
    """Seed 003 step 6: the dashboard, as GET /dashboard answers it."""

    @extend_schema(operation_id="zerodha_dashboard_dashboard", tags=[TAG], parameters=ACCOUNT_PARAMETERS,
                   responses={200: DASHBOARD_OUTPUT})
    def get(self, request):
        return super().get(request)
