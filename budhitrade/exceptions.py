"""One error shape for every response: {"detail", "status_code"[, "errors"]}."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from budhitrade.errors import ServiceError, ServiceUnavailable, outage_of
from budhitrade.parsers import PayloadTooLarge

logger = logging.getLogger(__name__)


def error_body(detail: str, status_code: int, errors: dict | None = None) -> dict:
    body = {"detail": detail, "status_code": status_code}
    if errors:
        body["errors"] = errors
    return body


def _flatten(detail) -> dict:
    if isinstance(detail, dict):
        return {
            str(key): [str(item) for item in value] if isinstance(value, list) else _flatten_value(value)
            for key, value in detail.items()
        }
    return {"non_field_errors": [str(item) for item in detail]}


def _flatten_value(value):
    if isinstance(value, dict):
        return _flatten(value)
    return [str(value)]


def _order_of(exc) -> dict:
    """An order the failed request saved (it is kept, whatever failed after): its id and status."""
    order = getattr(exc, "order", None)
    return {"order_id": order.order_id, "order_status": order.status} if order is not None else {}


def _retry_after(exc) -> dict:
    return {"Retry-After": str(exc.retry_after_seconds)} if isinstance(exc, ServiceUnavailable) else {}


def api_exception_handler(exc, context):
    """DRF exception handler giving the contract's error shape."""
    if isinstance(exc, ServiceError):
        return Response({**error_body(exc.detail, exc.status_code, exc.errors), **exc.extra_body(),
                         **_order_of(exc)}, status=exc.status_code, headers=_retry_after(exc))
    outage = outage_of(exc)
    if outage is not None:
        # The database or Redis is down: a retry later will do, so 503 (never a 500), naming a saved order.
        logger.warning("dependency_unavailable", extra={"detail": outage.detail, "error": type(exc).__name__})
        return Response({**error_body(outage.detail, 503), **_order_of(exc)}, status=503, headers=_retry_after(outage))
    if isinstance(exc, RequestDataTooBig):
        # Django's own bound on a body that declared no length (or understated it).
        exc = PayloadTooLarge(settings.MAX_REQUEST_BODY_BYTES)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("unhandled_api_error", extra={"view": type(context.get("view")).__name__})
        return Response(
            {**error_body("Internal server error.", 500), **_order_of(exc)},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("Invalid input.", response.status_code, _flatten(exc.detail))
    else:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
        if isinstance(detail, dict) and "detail" in detail:
            # simplejwt's token errors: {"detail", "code", "messages"}.
            detail = detail["detail"]
        if isinstance(detail, (list, dict)):
            response.data = error_body("Invalid input.", response.status_code, _flatten(detail))
        else:
            response.data = error_body(str(detail), response.status_code)
    return response


def _json_error(detail: str, status_code: int) -> JsonResponse:
    return JsonResponse(error_body(detail, status_code), status=status_code)


def handler400(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return _json_error(f"Request body is larger than {settings.MAX_REQUEST_BODY_BYTES} bytes.", 413)
    return _json_error("Bad request.", 400)


def handler403(request, exception=None):
    return _json_error("You do not have permission to perform this action.", 403)


def handler404(request, exception=None):
    return _json_error("Not found.", 404)


def handler500(request):
    # Django calls this while handling the error, so the error itself is at hand: an outage of the
    # database or Redis outside the API's views (admin, a middleware) is a 503 too.
    outage = outage_of(sys.exc_info()[1])
    if outage is not None:
        response = _json_error(outage.detail, 503)
        response["Retry-After"] = str(outage.retry_after_seconds)
        return response
    return _json_error("Internal server error.", 500)
