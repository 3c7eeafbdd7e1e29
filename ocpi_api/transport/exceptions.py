"""OCPI errors and the DRF exception handler that puts every error in the envelope.

HTTP and OCPI codes follow transport_and_format ("Response format", "Errors") and status_codes:
"If a request is syntactically valid JSON and addresses an existing resource, a HTTP error MUST
NOT be returned", so every 2xxx about the content of a request is HTTP 200. The HTTP errors left:
400 + 2001 for a body that is not JSON, 401 for a missing or unknown token, 403, 404 for an
unknown object (or one of another party), 405 for a method the spec rules out, 413 for a body
over ``API_MAX_BODY_BYTES``, and 500 + 3000 for anything unexpected (without internals in the
message; the exception is logged).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from ocpi_api.transport.envelope import (
    GENERIC_CLIENT_ERROR,
    GENERIC_SERVER_ERROR,
    INVALID_PARAMETERS,
    envelope,
)

logger = logging.getLogger(__name__)


class OcpiError(drf_exceptions.APIException):
    """An error answered with an HTTP status and an OCPI status code.

    HTTP 200 unless a subclass says otherwise: the request reached the OCPI layer (status_codes).
    """

    status_code = 200
    ocpi_status = GENERIC_CLIENT_ERROR
    default_detail = "Generic client error"

    def __init__(
        self, detail: str | None = None, *, ocpi_status: int | None = None, http_status: int | None = None
    ):
        super().__init__(detail)
        if ocpi_status is not None:
            self.ocpi_status = ocpi_status
        if http_status is not None:
            self.status_code = http_status


class InvalidParameters(OcpiError):
    ocpi_status = INVALID_PARAMETERS
    default_detail = "Invalid or missing parameters"


class UnknownObject(OcpiError):
    status_code = 404
    default_detail = "Unknown object"


class BodyTooLarge(OcpiError):
    status_code = 413
    default_detail = "Request body too large"


def body_too_large() -> BodyTooLarge:
    limit = settings.API_MAX_BODY_BYTES
    return BodyTooLarge(f"The request body is larger than the limit of {limit} bytes.")


class MethodNotAllowed(OcpiError):
    status_code = 405
    default_detail = "Method not allowed"


class ServerError(OcpiError):
    """A 3xxx answer with HTTP 200 or another code: the request was fine, we could not process it."""

    status_code = 200
    ocpi_status = GENERIC_SERVER_ERROR
    default_detail = "Generic server error"


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        messages = []
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            messages.extend(_flatten(value, name))
        return messages
    if isinstance(detail, list):
        messages = []
        for index, value in enumerate(detail):
            inner_prefix = f"{prefix}[{index}]" if isinstance(value, dict | list) else prefix
            messages.extend(_flatten(value, inner_prefix))
        return messages
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def error_response(http_status: int, ocpi_status: int, message: str) -> Response:
    return Response(envelope(status_code=ocpi_status, status_message=message), status=http_status)


def ocpi_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF exception handler for OCPI views: every error becomes an envelope."""
    headers: dict[str, str] = {}
    if isinstance(exc, OcpiError):
        response = error_response(exc.status_code, exc.ocpi_status, str(exc.detail))
    elif isinstance(exc, drf_exceptions.NotAuthenticated | drf_exceptions.AuthenticationFailed):
        response = error_response(401, GENERIC_CLIENT_ERROR, str(exc.detail))
        headers["WWW-Authenticate"] = "Token"
    elif isinstance(exc, drf_exceptions.ParseError):
        response = error_response(400, INVALID_PARAMETERS, f"Invalid JSON: {exc.detail}")
    elif isinstance(exc, drf_exceptions.ValidationError):
        response = error_response(200, INVALID_PARAMETERS, "; ".join(_flatten(exc.detail)))
    elif isinstance(exc, DjangoValidationError):
        # A model's own validators (full_clean) refused what the serializer let through.
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        response = error_response(200, INVALID_PARAMETERS, "; ".join(_flatten(detail)))
    elif isinstance(exc, RequestDataTooBig):
        too_large = body_too_large()
        response = error_response(too_large.status_code, too_large.ocpi_status, str(too_large.detail))
    elif isinstance(exc, Http404 | drf_exceptions.NotFound):
        response = error_response(404, GENERIC_CLIENT_ERROR, str(exc) or "Not found")
    elif isinstance(exc, drf_exceptions.MethodNotAllowed):
        response = error_response(405, GENERIC_CLIENT_ERROR, str(exc.detail))
    elif isinstance(exc, PermissionDenied | drf_exceptions.PermissionDenied):
        response = error_response(403, GENERIC_CLIENT_ERROR, "Not allowed")
    elif isinstance(exc, drf_exceptions.APIException):
        response = error_response(exc.status_code, GENERIC_CLIENT_ERROR, str(exc.detail))
    else:
        view = context.get("view")
        logger.exception("Unexpected error in OCPI view %s", type(view).__name__ if view else "?")
        response = error_response(500, GENERIC_SERVER_ERROR, "Internal server error")
    for name, value in headers.items():
        response[name] = value
    return response
