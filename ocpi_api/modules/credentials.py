"""Credentials module (credentials.asciidoc), both versions: GET, POST, PUT, DELETE.

- GET: our credentials, with the token the partner presented (A or C).
- POST: registration with token A; 405 once registered.
- PUT: token rotation with token C; 405 before registration.
- DELETE: unregistration with token C; 405 before registration.
During POST/PUT we call the partner's versions and details back; failures answer 3001/3002/3003.
"""

from __future__ import annotations

from django.urls import path
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from ocpi_api.handshake import CredentialsInvalid, credentials_register_inbound, our_credentials
from ocpi_api.transport.authentication import TOKEN_C, OcpiAuth, TokenAOrCRequired
from ocpi_api.transport.envelope import ocpi_response
from ocpi_api.transport.exceptions import InvalidParameters, MethodNotAllowed, ServerError
from ocpi_api.transport.views import OcpiView
from partners.models import Partner
from partners.registration import HandshakeError
from partners.services import CredentialsReplaced, credentials_unregister_inbound


class CredentialsView(OcpiView):
    """Our credentials (GET), registration (POST), token rotation (PUT), unregistration (DELETE)."""

    permission_classes = (TokenAOrCRequired,)
    routing_headers = False

    @property
    def auth(self) -> OcpiAuth:
        return self.request.auth  # type: ignore[return-value]

    def _registered(self) -> bool:
        return self.auth.kind == TOKEN_C and self.partner.status == Partner.Status.REGISTERED

    def get(self, request: Request, version: str) -> Response:
        return ocpi_response(our_credentials(self.partner, self.auth.token))

    def post(self, request: Request, version: str) -> Response:
        if self._registered():
            raise MethodNotAllowed("Already registered: use PUT to update the credentials")
        return self._register(request, version)

    def put(self, request: Request, version: str) -> Response:
        if not self._registered():
            raise MethodNotAllowed("Not registered yet: use POST with token A")
        return self._register(request, version)

    def delete(self, request: Request, version: str) -> Response:
        if not self._registered():
            raise MethodNotAllowed("Not registered: nothing to delete")
        credentials_unregister_inbound(partner=self.partner)
        return ocpi_response()

    def _register(self, request: Request, version: str) -> Response:
        try:
            credentials = credentials_register_inbound(
                partner=self.partner, body=request.data, version=version, presented_token=self.auth.token
            )
        except CredentialsInvalid as error:
            raise InvalidParameters(str(error)) from None
        except HandshakeError as error:
            raise ServerError(str(error), ocpi_status=error.status_code) from None
        except CredentialsReplaced as error:
            raise exceptions.AuthenticationFailed(str(error)) from None
        return ocpi_response(credentials)


urlpatterns = [path("credentials", CredentialsView.as_view(), name="credentials")]
