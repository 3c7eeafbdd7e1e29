"""OCPI routes, mounted at /ocpi/: versions, then per version its details and module endpoints.

Module routes come from the table in ``ocpi_api.versions``: each installed entry's module file
contributes its ``urlpatterns`` under ``/ocpi/<version>/``. URL names live in the ``ocpi``
namespace and take the ``version`` keyword, e.g. ``reverse("ocpi:locations", kwargs={"version": "2.3.0"})``.
"""

from __future__ import annotations

import importlib

from django.urls import include, path, register_converter

from ocpi_api.modules.versions import VersionDetailsView, VersionListView
from ocpi_api.versions import ENDPOINTS, SUPPORTED_VERSIONS

app_name = "ocpi"


class OcpiVersionConverter:
    """Only the versions we serve match; any other is an unknown endpoint (404)."""

    regex = "|".join(version.replace(".", r"\.") for version in SUPPORTED_VERSIONS)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(OcpiVersionConverter, "ocpi_version")

_module_patterns = []
_seen: set[str] = set()
for _entry in ENDPOINTS:
    # One file may serve two entries (a module with Sender and Receiver roles): include it once.
    if _entry.installed and _entry.urls not in _seen:
        _seen.add(_entry.urls)
        _module_patterns.extend(importlib.import_module(_entry.urls).urlpatterns)

urlpatterns = [
    path("versions", VersionListView.as_view(), name="versions"),
    path("<ocpi_version:version>/details", VersionDetailsView.as_view(), name="details"),
    path("<ocpi_version:version>/", include(_module_patterns)),
]
