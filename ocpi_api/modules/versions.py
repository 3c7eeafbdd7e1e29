"""Versions and version details (version_information_endpoint.asciidoc).

Both accept token A and token C. The endpoints listed for a version come from the table in
``ocpi_api.versions``.
"""

from __future__ import annotations

from django.urls import reverse
from rest_framework.request import Request
from rest_framework.response import Response

from ocpi_api.transport.authentication import TokenAOrCRequired
from ocpi_api.transport.envelope import ocpi_response
from ocpi_api.transport.pagination import public_url_for_path
from ocpi_api.transport.views import OcpiView
from ocpi_api.versions import SUPPORTED_VERSIONS, installed_endpoints


def public_url(url_name: str, **kwargs: str) -> str:
    """An absolute URL under OCPI_BASE_URL (what partners store and call)."""
    return public_url_for_path(reverse(f"ocpi:{url_name}", kwargs=kwargs or None))


class VersionListView(OcpiView):
    """The OCPI versions we serve (token A or C)."""

    permission_classes = (TokenAOrCRequired,)
    routing_headers = False

    def get(self, request: Request) -> Response:
        return ocpi_response(
            [
                {"version": version, "url": public_url("details", version=version)}
                for version in SUPPORTED_VERSIONS
            ]
        )


class VersionDetailsView(OcpiView):
    """The endpoints of one version, with their roles (token A or C)."""

    permission_classes = (TokenAOrCRequired,)
    routing_headers = False

    def get(self, request: Request, version: str) -> Response:
        roles = frozenset(self.partner.roles.values_list("role", flat=True))
        endpoints = [
            {
                "identifier": entry.identifier,
                "role": entry.role,
                "url": public_url(entry.base_url_name, version=version),
            }
            for entry in installed_endpoints(version)
            if entry.offered_to(version, roles)
        ]
        return ocpi_response({"version": version, "endpoints": endpoints})
