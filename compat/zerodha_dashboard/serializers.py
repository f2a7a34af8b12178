"""Seed 003's request and answer bodies."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

from brokers.serializers import KITE_KEY_PATTERN, KITE_SECRET_PATTERN, ZerodhaInitiateInputSerializer
from compat.zerodha_dashboard import vocabulary as words


class ApiSetupInputSerializer(ZerodhaInitiateInputSerializer):
    """`POST /api/v1/auth/first-time-api-setup`: the broker's API key and secret, checked as
    /broker/connect/initiate checks them."""

    broker = serializers.CharField(default="zerodha", max_length=32,
                                   help_text="The broker whose API credentials these are: `zerodha`.")

    def validate_broker(self, value: str):
        try:
            return words.broker_from(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class ActivateInputSerializer(serializers.Serializer):
    """`POST /api/v1/dashboard/activate-brokerage`: the request_token from Kite's redirect, and (optionally) the API
    key and secret, which then start the login that the token completes."""

    brokerage = serializers.CharField(max_length=32, help_text="The broker to activate: `zerodha`.")
    api_url = serializers.CharField(required=False, max_length=200, help_text=f"Kite's API root, {words.KITE_API_ROOT}.")
    api_key = serializers.RegexField(KITE_KEY_PATTERN, required=False)
    api_secret = serializers.RegexField(KITE_SECRET_PATTERN, required=False)
    request_token = serializers.RegexField(KITE_SECRET_PATTERN, help_text="The request_token Kite's redirect carried.")

    def validate_brokerage(self, value: str):
        try:
            return words.broker_from(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_api_url(self, value: str):
        try:
            return words.api_url_check(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, attrs):
        if ("api_key" in attrs) != ("api_secret" in attrs):
            raise serializers.ValidationError({"api_secret" if "api_key" in attrs else "api_key": [
                "Send api_key and api_secret together, or neither (to complete the login already started)."]})
        return attrs


SETUP_OUTPUT = inline_serializer("ZerodhaDashboardSetupOutput", {
    "message": serializers.CharField(),
    "broker": serializers.CharField(),
    "connection_id": serializers.CharField(help_text="BudhiTrade's id of the login started."),
    "status": serializers.CharField(help_text="`pending_login` until the request_token completes it."),
    "login_url": serializers.CharField(help_text="Kite's login page for this login."),
})

LOGIN_URL_OUTPUT = inline_serializer("ZerodhaDashboardLoginUrlOutput", {
    "login_url": serializers.CharField(),
    "message": serializers.CharField(),
    "connection_id": serializers.CharField(help_text="The login the request_token will complete."),
})

ACTIVATE_OUTPUT = inline_serializer("ZerodhaDashboardActivateOutput", {
    "message": serializers.CharField(),
    "session_id": serializers.CharField(
        help_text="BudhiTrade's connection id (never the broker's access token, which is never returned)."),
    "account_id": serializers.CharField(),
    "status": serializers.CharField(),
})
