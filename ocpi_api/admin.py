"""Read-only admin for the OCPI request logs (append-only records)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.safestring import SafeString

from cpo_portal.admin import short_url
from ocpi_api.models import InboundRequestLog, OutboundRequestLog, RequestLog


class RequestLogAdmin(admin.ModelAdmin):
    # The request id, the correlation id and the bodies are on the log's page (and searchable).
    list_display = ("created_at", "partner", "method", "path", "http_status", "ocpi_status", "duration_ms")
    list_filter = ("method", "http_status", "ocpi_status", "partner")
    search_fields = ("url", "request_id", "correlation_id")
    list_select_related = ("partner",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    # Bodies are only shown on the detail page.
    readonly_fields = (
        "created_at",
        "partner",
        "method",
        "url",
        "http_status",
        "ocpi_status",
        "request_id",
        "correlation_id",
        "duration_ms",
        "error",
        "request_body",
        "response_body",
    )

    @admin.display(description="URL", ordering="url")
    def path(self, log: RequestLog) -> SafeString:
        return short_url(log.url)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("request_body", "response_body")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RequestLog | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: RequestLog | None = None) -> bool:
        return False


@admin.register(InboundRequestLog)
class InboundRequestLogAdmin(RequestLogAdmin):
    pass


@admin.register(OutboundRequestLog)
class OutboundRequestLogAdmin(RequestLogAdmin):
    pass
