"""Input and output shapes of the broker-connection endpoints."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from rest_framework import serializers

from brokers.domain import Broker, ConnectionStatus

RETIRED_KOTAK_LOGIN = (
    "Kotak Neo no longer offers password/SMS-OTP or QR login for the Trade API; "
    "use TOTP: send consumer_key, mobile_number, ucc and totp, then verify with your MPIN."
)

# Kite's API keys, secrets and request tokens are letters and digits; `_` and `-` are let through too, so a
# documented example's placeholder (`your_zerodha_api_key`) reaches Kite, which answers for it, rather than stop here.
KITE_KEY_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
KITE_SECRET_PATTERN = r"^[A-Za-z0-9_-]{1,128}$"


class ConnectInitiateInputSerializer(serializers.Serializer):
    broker = serializers.ChoiceField(choices=Broker.choices, default=Broker.KOTAK_NEO)


class KotakNeoInitiateInputSerializer(serializers.Serializer):
    consumer_key = serializers.CharField(max_length=512, trim_whitespace=True)
    consumer_secret = serializers.CharField(max_length=512, required=False, allow_blank=True)
    mobile_number = serializers.RegexField(
        r"^\+?[0-9]{10,13}$", error_messages={"invalid": "Give the mobile number as digits, e.g. +919876543210."}
    )
    ucc = serializers.RegexField(
        r"^[A-Za-z0-9]{1,20}$", error_messages={"invalid": "The UCC is letters and digits only."}
    )
    totp = serializers.RegexField(
        r"^[0-9]{6}$", error_messages={"invalid": "The TOTP is the 6-digit code from your authenticator app."}
    )
    environment = serializers.ChoiceField(choices=["prod", "uat"], default="prod")

    def login_parts(self) -> tuple[dict, dict, str]:
        """(credentials to encrypt, non-secret options, the one-time TOTP)."""
        data = self.validated_data
        credentials = {
            "consumer_key": data["consumer_key"],
            "mobile_number": data["mobile_number"],
            "ucc": data["ucc"].upper(),
        }
        if data.get("consumer_secret"):
            credentials["consumer_secret"] = data["consumer_secret"]
        return credentials, {"environment": data["environment"]}, data["totp"]

    def validate(self, attrs):
        if "password" in self.initial_data or self.initial_data.get("method") == "qr":
            raise serializers.ValidationError({"non_field_errors": [RETIRED_KOTAK_LOGIN]})
        return attrs


class ZerodhaInitiateInputSerializer(serializers.Serializer):
    api_key = serializers.RegexField(KITE_KEY_PATTERN)
    api_secret = serializers.RegexField(KITE_SECRET_PATTERN)

    def login_parts(self) -> tuple[dict, dict, str]:
        return dict(self.validated_data), {}, ""


class PaperInitiateInputSerializer(serializers.Serializer):
    opening_cash = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("1"),
        max_value=Decimal("1000000000000"),
        required=False,
    )

    def validate(self, attrs):
        attrs.setdefault("opening_cash", Decimal(settings.PAPER_OPENING_CASH))
        return attrs

    def login_parts(self) -> tuple[dict, dict, str]:
        return {}, {"opening_cash": str(self.validated_data["opening_cash"])}, ""


INITIATE_SERIALIZERS = {
    Broker.KOTAK_NEO: KotakNeoInitiateInputSerializer,
    Broker.ZERODHA: ZerodhaInitiateInputSerializer,
    Broker.PAPER: PaperInitiateInputSerializer,
}


class ConnectInitiateOutputSerializer(serializers.Serializer):
    message = serializers.CharField()
    status = serializers.ChoiceField(choices=ConnectionStatus.choices)
    connection_id = serializers.UUIDField()
    account_id = serializers.CharField(required=False)
    login_url = serializers.URLField(required=False)


class ConnectVerifyInputSerializer(serializers.Serializer):
    connection_id = serializers.UUIDField(required=False)
    mpin = serializers.RegexField(r"^[0-9]{4,6}$", required=False)
    otp = serializers.RegexField(r"^[0-9]{4,6}$", required=False, help_text="Taken as the Kotak Neo MPIN.")
    request_token = serializers.RegexField(KITE_SECRET_PATTERN, required=False)

    def validate(self, attrs):
        given = [name for name in ("mpin", "otp", "request_token") if attrs.get(name)]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"non_field_errors": ["Send exactly one of mpin, otp or request_token."]}
            )
        attrs["secret"] = attrs[given[0]]
        attrs["secret_kind"] = "request_token" if given[0] == "request_token" else "mpin"
        return attrs


class ConnectVerifyOutputSerializer(serializers.Serializer):
    message = serializers.CharField()
    status = serializers.ChoiceField(choices=ConnectionStatus.choices)
    account_id = serializers.CharField()
    connection_id = serializers.UUIDField()


class BrokerStatusOutputSerializer(serializers.Serializer):
    is_connected = serializers.BooleanField()
    broker_name = serializers.CharField(source="broker")
    status = serializers.CharField()
    last_connected_at = serializers.DateTimeField(allow_null=True)
    mobile_number = serializers.CharField(source="masked_mobile_number", allow_blank=True)
    account_id = serializers.CharField()
    connection_id = serializers.UUIDField(source="pk")
    session_expires_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)


class MessageOutputSerializer(serializers.Serializer):
    message = serializers.CharField()


class ZerodhaCallbackInputSerializer(serializers.Serializer):
    state = serializers.CharField(max_length=512)
    status = serializers.CharField(max_length=32, required=False, default="")
    request_token = serializers.RegexField(KITE_SECRET_PATTERN, required=False, default="")
