"""The internal REST API through which a charging backend reports session events.

Not OCPI: a plain JSON API for the system that speaks to the chargers (an OCPP central system).
It authenticates with ``Authorization: Bearer <token>`` of a ``ChargingBackend`` and reports, per
session (by our session id, which the gateway passed along with the start request):

- ``POST /chargers/api/v1/sessions/{session_id}/started``: the charger started charging;
- ``POST .../meter-values``: one or more meter values (cumulative energy, power, current);
- ``POST .../stopped``: the charger stopped (with the final meter register);
- ``POST .../start-failed``: the charger could not start the session.

A backend reports only on sessions of the EVSEs it serves (``ChargingBackend.evses``): any
other session answers HTTP 404 exactly as a session that does not exist. Replays are harmless: the
same event again changes nothing. An event that does not fit the session's state gets HTTP 409;
invalid input gets HTTP 400 naming the field (JSON nested too deep or holding NUL or lone
surrogates too), and a meter register that goes backwards or rises faster than the connector's
power allows gets HTTP 400 with a ``detail`` saying why; a body over ``API_MAX_BODY_BYTES`` gets
HTTP 413. Every error is JSON ``{"detail": ...}`` or the fields in error.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from chargers.models import ChargingBackend
from cpo_portal.parsers import SafeJSONParser
from partners.models import hash_token
from sessions.models import ChargingSession, CommandResultType
from sessions.selectors import session_on_evses
from sessions.services import (
    ImplausibleMeterValue,
    MeterValue,
    SessionStateError,
    session_charger_started,
    session_charger_stopped,
    session_meter_values,
    session_start_failed,
)


class ChargingBackendAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` of an active ChargingBackend (stored as a SHA-256 hash)."""

    def authenticate(self, request: Request) -> tuple[ChargingBackend, str] | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = hash_token(token.strip())
        backend = ChargingBackend.objects.filter(token_hash=presented, is_active=True).first()
        if backend is None or not hmac.compare_digest(backend.token_hash, presented):
            raise exceptions.AuthenticationFailed("Unknown or inactive charging backend token.")
        return backend, token

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


class ChargingBackendScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI description names the backends' bearer token."""

    target_class = ChargingBackendAuthentication
    name = "chargingBackendToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "description": "A charging backend's API token."}


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large."


class IsChargingBackend(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.user, ChargingBackend)


class StartedSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField(help_text="When charging started (RFC 3339, with offset).")
    meter_start_kwh = serializers.DecimalField(
        max_digits=14, decimal_places=4, min_value=0, help_text="The meter register at the start, kWh."
    )
    meter_id = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class MeterValueSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    energy_kwh = serializers.DecimalField(
        max_digits=14, decimal_places=4, min_value=0, help_text="Cumulative meter register, kWh."
    )
    power_kw = serializers.DecimalField(
        max_digits=10, decimal_places=3, min_value=0, required=False, allow_null=True, default=None
    )
    current_a = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
    )
    charging = serializers.BooleanField(
        required=False, default=True, help_text="False while the vehicle is connected but not charging."
    )


class MeterValuesSerializer(serializers.Serializer):
    meter_values = MeterValueSerializer(many=True, allow_empty=False)


class StoppedSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField(help_text="When charging stopped.")
    meter_stop_kwh = serializers.DecimalField(
        max_digits=14, decimal_places=4, min_value=0, required=False, allow_null=True, default=None
    )
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class StartFailedSerializer(serializers.Serializer):
    result = serializers.ChoiceField(
        choices=[
            CommandResultType.REJECTED,
            CommandResultType.EVSE_OCCUPIED,
            CommandResultType.EVSE_INOPERATIVE,
            CommandResultType.FAILED,
            CommandResultType.TIMEOUT,
        ],
        default=CommandResultType.FAILED,
    )
    message = serializers.CharField(max_length=512, required=False, allow_blank=True, default="")


SESSION_STATE = inline_serializer(
    "ChargerSessionState",
    fields={
        "session_id": serializers.CharField(),
        "status": serializers.CharField(),
        "kwh": serializers.DecimalField(max_digits=12, decimal_places=4),
        "total_cost_excl_vat": serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True),
        "total_cost_incl_vat": serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True),
        "currency": serializers.CharField(),
        "stop_requested": serializers.BooleanField(),
    },
)
ERROR = inline_serializer("ChargerApiError", fields={"detail": serializers.CharField()})
RESPONSES = {
    200: SESSION_STATE,
    400: OpenApiResponse(
        description="Invalid input; the message names the field, or a meter register that is impossible."
    ),
    401: ERROR,
    404: OpenApiResponse(ERROR, description="No such session on an EVSE this backend serves."),
    409: OpenApiResponse(ERROR, description="The event does not fit the session's state."),
    413: OpenApiResponse(ERROR, description="The body is larger than API_MAX_BODY_BYTES."),
}


def session_state(session: ChargingSession) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "status": session.status,
        "kwh": str(session.kwh),
        "total_cost_excl_vat": None
        if session.total_cost_excl_vat is None
        else str(session.total_cost_excl_vat),
        "total_cost_incl_vat": None
        if session.total_cost_incl_vat is None
        else str(session.total_cost_incl_vat),
        "currency": session.currency,
        # Tells the backend that we want the session stopped (pre-authorised amount reached).
        "stop_requested": session.stop_requested_at is not None,
    }


class ChargerEventView(APIView):
    """Base: authenticated backend, the session looked up by id, state errors as 409."""

    authentication_classes = (ChargingBackendAuthentication,)
    permission_classes = (IsChargingBackend,)
    parser_classes = (SafeJSONParser,)
    input_serializer: type[serializers.Serializer] = serializers.Serializer

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Refused by its Content-Length, before anything reads it (Django would answer an HTML 400).
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.API_MAX_BODY_BYTES:
            raise BodyTooLarge(
                f"The request body is larger than the limit of {settings.API_MAX_BODY_BYTES} bytes."
            )

    def session(self, session_id: str, backend: ChargingBackend) -> ChargingSession:
        # Our session ids are printable ASCII; a NUL (from %00) would also be refused by PostgreSQL.
        if not (session_id.isascii() and session_id.isprintable()):
            raise exceptions.NotFound("Unknown session.")
        # Object-level authorisation: only sessions on EVSEs this backend serves. Another backend's
        # session gets the same answer as none at all, so the answer tells nothing about it.
        session = session_on_evses(session_id=session_id, evses=backend.evses.all())
        if session is None:
            raise exceptions.NotFound("Unknown session.")
        return session

    def post(self, request: Request, session_id: str) -> Response:
        session = self.session(session_id, request.user)
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            updated = self.apply(session, serializer.validated_data)
        except ImplausibleMeterValue as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        except SessionStateError as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return Response(session_state(updated))

    def apply(self, session: ChargingSession, data: dict[str, Any]) -> ChargingSession:
        raise NotImplementedError


@extend_schema(exclude=True)
class UnknownEndpointView(APIView):
    """Any other path under the API: a JSON 404 (Django's own would be an HTML page)."""

    authentication_classes = ()
    permission_classes = ()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        raise exceptions.NotFound("Unknown charger API endpoint.")


def charger_event(name: str, summary: str, request: type[serializers.Serializer]) -> Any:
    """The OpenAPI description of one event endpoint (its POST)."""
    return extend_schema_view(
        post=extend_schema(
            operation_id=f"charger_session_{name}",
            summary=summary,
            request=request,
            responses=RESPONSES,
            tags=["chargers"],
        )
    )


@charger_event("started", "The charger started the session", StartedSerializer)
class SessionStartedView(ChargerEventView):
    input_serializer = StartedSerializer

    def apply(self, session: ChargingSession, data: dict[str, Any]) -> ChargingSession:
        return session_charger_started(
            session=session,
            timestamp=data["timestamp"],
            meter_start_kwh=data["meter_start_kwh"],
            meter_id=data["meter_id"],
        )


@charger_event("meter_values", "Meter values of a running session", MeterValuesSerializer)
class SessionMeterValuesView(ChargerEventView):
    input_serializer = MeterValuesSerializer

    def apply(self, session: ChargingSession, data: dict[str, Any]) -> ChargingSession:
        return session_meter_values(
            session=session, values=[MeterValue(**value) for value in data["meter_values"]]
        )


@charger_event("stopped", "The charger stopped the session (the CDR is created at once)", StoppedSerializer)
class SessionStoppedView(ChargerEventView):
    input_serializer = StoppedSerializer

    def apply(self, session: ChargingSession, data: dict[str, Any]) -> ChargingSession:
        return session_charger_stopped(
            session=session,
            timestamp=data["timestamp"],
            meter_stop_kwh=data["meter_stop_kwh"],
            reason=data["reason"],
        )


@charger_event("start_failed", "The charger could not start the session", StartFailedSerializer)
class SessionStartFailedView(ChargerEventView):
    input_serializer = StartFailedSerializer

    def apply(self, session: ChargingSession, data: dict[str, Any]) -> ChargingSession:
        return session_start_failed(session=session, result=data["result"], message=data["message"])
