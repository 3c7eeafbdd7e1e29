"""The OCPI response envelope and its renderer (transport_and_format, "Response format").

Every answer under /ocpi/ is ``{"data"?, "status_code", "status_message"?, "timestamp"}``; the
renderer writes it with ``ocpi_api.formatting.dumps`` so that Decimals stay exact JSON numbers
and datetimes are RFC 3339 UTC with ``Z``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils import timezone
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response

from ocpi_api.formatting import dumps

SUCCESS = 1000
GENERIC_CLIENT_ERROR = 2000
INVALID_PARAMETERS = 2001
NOT_ENOUGH_INFORMATION = 2002
UNKNOWN_LOCATION = 2003
UNKNOWN_TOKEN = 2004
GENERIC_SERVER_ERROR = 3000
CLIENT_API_UNUSABLE = 3001
UNSUPPORTED_VERSION = 3002
NO_MATCHING_ENDPOINTS = 3003


def envelope(data: Any = None, *, status_code: int = SUCCESS, status_message: str = "Success") -> dict:
    """The envelope around ``data`` (left out when None, as for most errors)."""
    body: dict[str, Any] = {}
    if data is not None:
        body["data"] = data
    body["status_code"] = status_code
    if status_message:
        body["status_message"] = status_message
    body["timestamp"] = timezone.now()
    return body


def ocpi_response(
    data: Any = None,
    *,
    http_status: int = 200,
    status_code: int = SUCCESS,
    status_message: str = "Success",
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A DRF Response holding an envelope."""
    return Response(
        envelope(data, status_code=status_code, status_message=status_message),
        status=http_status,
        headers=dict(headers or {}),
    )


class OcpiJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        # Input with lone surrogates is refused by the parser; should one reach a message all
        # the same, it is replaced rather than failing the answer.
        return dumps(data).encode("utf-8", errors="replace")
