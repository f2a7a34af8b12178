"""Service endpoints (`/`, `/health`) and sign-up."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from budhitrade.errors import ServiceError

logger = logging.getLogger(__name__)


class RootView(APIView):
    """Says the API is running."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={200: inline_serializer("RootOutput", {"message": serializers.CharField()})})
    def get(self, request):
        return Response({"message": "BudhiTrade API running"})


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_redis() -> str:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


class HealthView(APIView):
    """Database and (where configured) Redis reachability; 503 when either is down."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: inline_serializer(
                "HealthOutput", {"status": serializers.CharField(), "checks": serializers.DictField()}
            )
        }
    )
    def get(self, request):
        checks = {"database": _check_database}
        if settings.REDIS_URL:
            checks["redis"] = _check_redis
        results, healthy = {}, True
        for name, check in checks.items():
            try:
                results[name] = check()
            except Exception as exc:  # any failure of a dependency is "down"
                logger.warning("health_check_failed", extra={"check": name, "error": type(exc).__name__})
                results[name] = "down"
                healthy = False
        return Response(
            {"status": "healthy" if healthy else "unhealthy", "checks": results},
            status=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
        )


class RegisterInputSerializer(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{3,150}$")
    password = serializers.CharField(min_length=8, max_length=128, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True)

    def validate_username(self, value):
        if get_user_model().objects.filter(username__iexact=value).exists():
            raise serializers.ValidationError("That username is taken.")
        return value

    def validate(self, attrs):
        user = get_user_model()(username=attrs["username"], email=attrs.get("email", ""))
        try:
            validate_password(attrs["password"], user)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"password": list(exc.messages)}) from exc
        return attrs


class RegisterView(APIView):
    """Create a user (turned off with ALLOW_REGISTRATION=false)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=RegisterInputSerializer,
        responses={201: inline_serializer("RegisterOutput", {"id": serializers.IntegerField(), "username": serializers.CharField()})},
    )
    def post(self, request):
        if not settings.ALLOW_REGISTRATION:
            raise ServiceError("Registration is turned off.") from None
        serializer = RegisterInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = get_user_model().objects.create_user(
            username=data["username"], password=data["password"], email=data.get("email", "")
        )
        logger.info("user_registered", extra={"user_id": user.pk})
        return Response({"id": user.pk, "username": user.username}, status=status.HTTP_201_CREATED)
