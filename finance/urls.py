"""Routes of the finance API (mounted under /finance/api/v1/), described in the OpenAPI schema."""

from __future__ import annotations

from django.urls import path

from finance import api

app_name = "finance"

urlpatterns = [path("cdrs/export", api.CdrExportView.as_view(), name="cdrs-export")]
