"""Commands module, Receiver interface (mod_commands, both versions): POST {command}.

The answer is a CommandResponse at once; the charger's CommandResult is POSTed later to the
request's response_url by the push outbox (``pushes``). Validation here is about the
shape of the request; what it asks for (the location, EVSE, session) is judged by
``sessions.commands.command_receive``.
"""

from __future__ import annotations

from django.urls import path
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from ocpi_api.transport.envelope import ocpi_response
from ocpi_api.transport.exceptions import OcpiError
from ocpi_api.transport.fields import CiStringField
from ocpi_api.transport.views import OcpiView
from partners.models import Token
from sessions.commands import command_receive
from sessions.exceptions import CommandRefused
from sessions.models import CommandResponseType, CommandType

CISTRING_36 = {"max_length": 36, "min_length": 1}


class CommandTokenSerializer(serializers.Serializer):
    """The Token of a START_SESSION or RESERVE_NOW (mod_tokens, Token object).

    Lenient on what we do not use; strict on what goes into the Session and CDR (CdrToken).
    """

    country_code = serializers.RegexField(r"^[A-Z]{2}$")
    party_id = serializers.RegexField(r"^[A-Z0-9]{3}$")
    uid = CiStringField(**CISTRING_36)
    type = serializers.ChoiceField(choices=Token.TokenType.values)
    contract_id = CiStringField(**CISTRING_36)


class CommandSerializer(serializers.Serializer):
    response_url = serializers.URLField(max_length=255)


class StartSessionSerializer(CommandSerializer):
    token = CommandTokenSerializer()
    location_id = CiStringField(**CISTRING_36)
    evse_uid = CiStringField(required=False, **CISTRING_36)
    connector_id = CiStringField(required=False, **CISTRING_36)
    authorization_reference = CiStringField(required=False, **CISTRING_36)


class StopSessionSerializer(CommandSerializer):
    session_id = CiStringField(**CISTRING_36)


class UnlockConnectorSerializer(CommandSerializer):
    location_id = CiStringField(**CISTRING_36)
    evse_uid = CiStringField(**CISTRING_36)
    connector_id = CiStringField(**CISTRING_36)


class ReserveNowSerializer(CommandSerializer):
    token = CommandTokenSerializer()
    expiry_date = serializers.DateTimeField()
    reservation_id = CiStringField(**CISTRING_36)
    location_id = CiStringField(**CISTRING_36)
    evse_uid = CiStringField(required=False, **CISTRING_36)
    authorization_reference = CiStringField(required=False, **CISTRING_36)


class CancelReservationSerializer(CommandSerializer):
    reservation_id = CiStringField(**CISTRING_36)


SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    CommandType.START_SESSION: StartSessionSerializer,
    CommandType.STOP_SESSION: StopSessionSerializer,
    CommandType.UNLOCK_CONNECTOR: UnlockConnectorSerializer,
    CommandType.RESERVE_NOW: ReserveNowSerializer,
    CommandType.CANCEL_RESERVATION: CancelReservationSerializer,
}


class CommandView(OcpiView):
    """POST {commands_endpoint_url}{command}; every other method is 405 (mod_commands, Receiver)."""

    def post(self, request: Request, version: str, command: str) -> Response:
        serializer_class = SERIALIZERS.get(command)
        if serializer_class is None:
            # 2.3.0 makes CommandType an OpenEnum: a command we do not know is not supported.
            return ocpi_response(
                {
                    "result": CommandResponseType.NOT_SUPPORTED,
                    "timeout": 0,
                    "message": [{"language": "en", "text": f"Unknown command {command}."}],
                }
            )
        if not isinstance(request.data, dict):
            raise OcpiError("The body must be a JSON object.", ocpi_status=2001)
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            received = command_receive(
                partner=self.partner, command=command, body=serializer.validated_data, version=version
            )
        except CommandRefused as refused:
            # The command endpoint exists and the JSON is valid: HTTP 200 with the 2xxx code, such
            # as 2003 "Unknown Location" (status_codes: no HTTP error for such a request).
            raise OcpiError(refused.message, ocpi_status=refused.status_code) from None
        return ocpi_response(received.command_response)


class CommandsBaseView(OcpiView):
    """The module URL listed in version details; partners append the command to it."""


urlpatterns = [
    # mod_commands, Receiver: {commands_endpoint_url}{command}, so the URL we list ends with a
    # slash. The middleware strips a trailing slash from requests, so "commands" is what matches.
    path("commands/", CommandsBaseView.as_view(), name="commands"),
    path("commands", CommandsBaseView.as_view(), name="commands-base"),
    path("commands/<str:command>", CommandView.as_view(), name="command"),
]
