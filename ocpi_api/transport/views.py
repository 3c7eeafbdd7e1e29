"""Base views for OCPI modules: token authentication, the envelope, errors, paging, routing headers.

A module view subclasses ``OcpiView`` (one object) or ``OcpiListView`` (a paginated list) and only
says what to read and how to serialise it; ``self.partner`` and ``self.profile`` are set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from django.db.models import QuerySet
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cpo_portal.parsers import SafeJSONParser
from ocpi_api.transport.authentication import OcpiTokenAuthentication, TokenCRequired
from ocpi_api.transport.envelope import OcpiJSONRenderer, ocpi_response
from ocpi_api.transport.exceptions import InvalidParameters, UnknownObject, ocpi_exception_handler
from ocpi_api.transport.openapi import OcpiAutoSchema, OcpiListAutoSchema
from ocpi_api.transport.pagination import PageRequest, paginate
from ocpi_api.versions import VersionProfile, profile_for
from partners.models import Partner, Party


class AnyContentTypeJSONParser(SafeJSONParser):
    """Parse the body as JSON whatever its Content-Type: some platforms send text/plain or none."""

    media_type = "*/*"


class OcpiView(APIView):
    authentication_classes = (OcpiTokenAuthentication,)
    permission_classes = (TokenCRequired,)
    renderer_classes = (OcpiJSONRenderer,)
    parser_classes = (SafeJSONParser, AnyContentTypeJSONParser)
    schema = OcpiAutoSchema()
    # OPTIONS would answer DRF metadata outside the envelope; OCPI does not define it: 405.
    metadata_class = None
    # Module responses carry OCPI-from/to headers (transport_and_format, "Message Routing").
    routing_headers: ClassVar[bool] = True

    @property
    def partner(self) -> Partner:
        return self.request.user  # type: ignore[return-value]

    @property
    def profile(self) -> VersionProfile:
        return profile_for(self.kwargs["version"])

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Every id in an OCPI URL is a CiString: printable ASCII (types, "CiString type"). Others
        # (a NUL from %00, non-ASCII) cannot name an object, and PostgreSQL refuses a NUL in a query.
        for name, value in kwargs.items():
            if isinstance(value, str) and not (value.isascii() and value.isprintable()):
                if request.method in ("GET", "HEAD"):
                    raise UnknownObject(f"No object has the {name} {value!r}.")
                raise InvalidParameters(f"{name}: the URL segment must be printable ASCII (a CiString).")

    def get_exception_handler(self) -> Callable[[Exception, dict[str, Any]], Response]:
        return ocpi_exception_handler

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        partner = request.user if isinstance(request.user, Partner) else None
        if self.routing_headers and partner is not None:
            for name, value in routing_headers(request, partner).items():
                response[name] = value
        return response


def routing_headers(request: Request, partner: Partner) -> dict[str, str]:
    """OCPI-from (our party that answers) and OCPI-to (the partner's party that asked)."""
    headers: dict[str, str] = {}
    asked_country = request.headers.get("OCPI-to-country-code", "")
    asked_party = request.headers.get("OCPI-to-party-id", "")
    ours = list(partner.parties.all()) or list(Party.objects.all()[:1])
    own = next(
        (party for party in ours if (party.country_code, party.party_id) == (asked_country, asked_party)),
        ours[0] if ours else None,
    )
    if own is not None:
        headers["OCPI-from-country-code"] = own.country_code
        headers["OCPI-from-party-id"] = own.party_id
    their_country = request.headers.get("OCPI-from-country-code", "")
    their_party = request.headers.get("OCPI-from-party-id", "")
    if not (their_country and their_party):
        role = partner.roles.first()
        if role is not None:
            their_country, their_party = role.country_code, role.party_id
    if their_country and their_party:
        headers["OCPI-to-country-code"] = their_country
        headers["OCPI-to-party-id"] = their_party
    return headers


class OcpiListView(OcpiView):
    """GET of a Sender list: subclasses give ``get_queryset`` and ``serialize``."""

    date_from_required: ClassVar[bool] = False
    schema = OcpiListAutoSchema()

    def get_queryset(self) -> QuerySet[Any]:
        raise NotImplementedError

    def prepare(self, objects: list[Any]) -> list[Any]:
        """Load what ``serialize`` needs for a whole page at once (a constant number of queries)."""
        return objects

    def serialize(self, obj: Any) -> dict[str, Any]:
        raise NotImplementedError

    def get(self, request: Request, version: str) -> Response:
        page_request = PageRequest.from_request(request, date_from_required=self.date_from_required)
        page = paginate(request, self.get_queryset(), page_request)
        objects = self.prepare(page.objects)
        return ocpi_response([self.serialize(obj) for obj in objects], headers=page.headers)
