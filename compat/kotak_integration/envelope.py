"""Seed 001's envelope {"success", "message", "data"} on every answer of its paths, errors included.

An error keeps the contract's shape {"detail", "status_code"[, "errors"]}
(and whatever else the unified endpoint's error carries: a rejected order's
`order_id`, say) and gains the envelope: `"success": false`, the detail as
`message`, `"data": null`. It is added once, as the view finalises its
answer, so every error answer of these views has it: what the exception
handler made, and what the Idempotency-Key run answered (or replays) without
raising. The HTTP edges' own answers before any view (a body over
MAX_REQUEST_BODY_BYTES, the per-minute rate limit) are the contract's shape
alone.
"""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from budhitrade.schema import ErrorDocumentingAutoSchema, ErrorSerializer

TAG = "Kotak Neo integration (seed 001 paths)"


def answer(data, message: str) -> Response:
    """A success in seed 001's envelope."""
    return Response({"success": True, "message": message, "data": data})


def error_enveloped(body: dict) -> dict:
    """An error body of the contract's shape with seed 001's envelope added."""
    return {**body, "success": False, "message": body["detail"], "data": None}


def envelope(name: str, data: serializers.Field) -> serializers.Serializer:
    """Seed 001's success envelope around `data`, for the schema."""
    return inline_serializer(name, {"success": serializers.BooleanField(help_text="true"),
                                    "message": serializers.CharField(), "data": data})


class KotakIntegrationErrorSerializer(ErrorSerializer):
    """The contract's error body with seed 001's envelope."""

    success = serializers.BooleanField(required=False, help_text="false. On every error these paths' views "
                                                                 "answer; not on the HTTP edges' (413, 429).")
    message = serializers.CharField(required=False, help_text="The detail again, where seed 001's clients read it.")
    data = serializers.JSONField(required=False, allow_null=True, help_text="null")


class EnvelopedErrorSchema(ErrorDocumentingAutoSchema):
    """The project's schema with every error body in seed 001's envelope."""

    def _get_response_for_code(self, serializer, status_code, *args, **kwargs):
        if serializer is ErrorSerializer:
            serializer = KotakIntegrationErrorSerializer
        return super()._get_response_for_code(serializer, status_code, *args, **kwargs)


class EnvelopeView(APIView):
    """A seed 001 path: its error answers are enveloped (its views envelope their successes with `answer`)."""

    schema = EnvelopedErrorSchema()

    def finalize_response(self, request, response, *args, **kwargs):
        body = getattr(response, "data", None)
        if response.status_code >= 400 and isinstance(body, dict) and "detail" in body:
            response.data = error_enveloped(body)
        return super().finalize_response(request, response, *args, **kwargs)
