"""URL routes: the admin for staff and the OCPI API for partners."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("ocpi/", include("ocpi_api.urls")),
    # The internal API for charging backends (not OCPI), described in the OpenAPI schema below.
    path("chargers/api/v1/", include("chargers.urls")),
    # Finance tools: CDR exports for invoicing and accounting (portal users, not OCPI partners).
    path("finance/api/v1/", include("finance.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="openapi-schema"),
]
