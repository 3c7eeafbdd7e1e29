"""OpenAPI description of the OCPI endpoints (drf-spectacular), served at /api/schema/.

Every OCPI view shares one schema class: the path's ``version`` is an enum of the versions we
serve, lists document the paging parameters, and every answer (success or error) is described
as the OCPI envelope. Object bodies are free-form here: the OCPI specification is their
reference, and the tests check them against it.
"""

from __future__ import annotations

import re
from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from ocpi_api.versions import SUPPORTED_VERSIONS

ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["status_code", "timestamp"],
    "properties": {
        "data": {"description": "The answer: an object, a list of objects, or absent on errors."},
        "status_code": {"type": "integer", "description": "OCPI status code (status_codes.asciidoc)."},
        "status_message": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
    },
}
_ERRORS = {
    400: "A body that is not JSON (2001)",
    401: "Missing or unknown token, or token A on a module endpoint",
    404: "Unknown endpoint or object",
    405: "Method not allowed here",
    413: "A body larger than API_MAX_BODY_BYTES (2000)",
}


class OcpiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "ocpi_api.transport.authentication.OcpiTokenAuthentication"
    name = "ocpiToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <base64 of the credentials token>` (transport_and_format, Authorization).",
        }


class OcpiAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        parts = [part for part in self.path.split("/") if part and not part.startswith("{")]
        return [parts[1] if len(parts) > 1 else "versions"]

    def get_operation_id(self) -> str:
        # One view serves several paths (location, EVSE, connector): ids come from the path.
        words = re.sub(r"[{}]", "", self.path).strip("/").replace("-", "_").split("/")
        return "_".join([self.method.lower(), *words]).replace(".", "_")

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if "{version}" in self.path:
            parameters.append(
                OpenApiParameter(
                    "version", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(SUPPORTED_VERSIONS)
                )
            )
        return parameters

    def get_request_serializer(self) -> Any:
        if hasattr(self.view, "get_serializer"):
            return super().get_request_serializer()
        if self.method in ("POST", "PUT", "PATCH"):
            return OpenApiTypes.OBJECT
        return None

    def get_response_serializers(self) -> Any:
        responses: dict[int, OpenApiResponse] = {
            200: OpenApiResponse(
                response=ENVELOPE_SCHEMA,
                description="Success (1xxx; an update on writes), invalid content (2xxx) or 3xxx",
            )
        }
        if self.method in ("POST", "PUT"):
            responses[201] = OpenApiResponse(response=ENVELOPE_SCHEMA, description="Created (1000)")
        for code, description in _ERRORS.items():
            responses[code] = OpenApiResponse(response=ENVELOPE_SCHEMA, description=description)
        return responses


class OcpiListAutoSchema(OcpiAutoSchema):
    """A Sender list (``OcpiListView``): its GET pages with offset, limit, date_from and date_to."""

    def get_override_parameters(self) -> list[Any]:
        parameters = super().get_override_parameters()
        if self.method == "GET":
            required = bool(getattr(self.view, "date_from_required", False))
            parameters += [
                OpenApiParameter("offset", OpenApiTypes.INT, description="First object (default 0)."),
                OpenApiParameter(
                    "limit", OpenApiTypes.INT, description="Objects per page (capped by X-Limit)."
                ),
                OpenApiParameter(
                    "date_from",
                    OpenApiTypes.DATETIME,
                    required=required,
                    description="last_updated on or after (inclusive).",
                ),
                OpenApiParameter(
                    "date_to", OpenApiTypes.DATETIME, description="last_updated before (exclusive)."
                ),
            ]
        return parameters
