"""Request parsing with a hard size bound."""

from io import BytesIO

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser

from budhitrade.errors import InvalidInput


class PayloadTooLarge(exceptions.APIException):
    """The request body is over the configured limit."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE

    def __init__(self, limit: int):
        super().__init__(f"Request body is larger than {limit} bytes.")


class BoundedJSONParser(JSONParser):
    """JSON parser that refuses bodies over MAX_REQUEST_BODY_BYTES (413)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.MAX_REQUEST_BODY_BYTES
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(limit)
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(limit)
        return super().parse(BytesIO(body), media_type, parser_context)


def json_object(request) -> dict:
    """The request's body, which must be a JSON object (a list or a scalar is a 400)."""
    if not isinstance(request.data, dict):
        raise InvalidInput("Send a JSON object.")
    return request.data
