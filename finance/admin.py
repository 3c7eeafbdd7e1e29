"""Finance's page: CDRs beside Payter's captures, with totals and a CSV export of what is shown."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils import timezone

from cpo_portal.admin import party_code
from finance.models import CdrReconciliation
from finance.selectors import (
    ReconciliationStatus,
    captures_without_cdr,
    cdr_export_rows,
    cdrs_with_reconciliation,
    reconciliation_totals,
)


def _money(amount: Any, currency: str) -> str:
    return "-" if amount is None else f"{amount:.2f} {currency}"


class _Echo:
    """A file-like sink for csv.writer that hands each row back instead of buffering it."""

    def write(self, value: str) -> str:
        return value


def csv_download(rows: Iterable[list[str]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class ReconciliationStatusFilter(admin.SimpleListFilter):
    title = "reconciliation"
    parameter_name = "reconciliation"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> tuple[tuple[str, str], ...]:
        return ReconciliationStatus.choices

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(reconciliation_status=self.value())
        return queryset


@admin.register(CdrReconciliation)
class CdrReconciliationAdmin(admin.ModelAdmin[CdrReconciliation]):
    list_display = ("cdr_id", party_code, "ended", "location_name", "billed", "captured", "status")
    list_filter = (ReconciliationStatusFilter, "party", "currency", "end_date_time")
    search_fields = ("cdr_id", "authorization_reference", "invoice_reference_id")
    date_hierarchy = "end_date_time"
    list_select_related = ("party",)
    show_full_result_count = False
    actions = ("export_selected",)
    change_list_template = "admin/finance/cdrreconciliation/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CdrReconciliation]:
        return cdrs_with_reconciliation(super().get_queryset(request)).defer(
            "tariffs", "charging_periods", "signed_data"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="location")
    def location_name(self, cdr: CdrReconciliation) -> str:
        return str(cdr.cdr_location.get("name") or cdr.cdr_location.get("id", ""))

    @admin.display(description="ended", ordering="end_date_time")
    def ended(self, cdr: CdrReconciliation) -> str:
        return f"{cdr.end_date_time:%Y-%m-%d %H:%M} UTC"

    @admin.display(description="billed incl. taxes", ordering="total_cost_incl_vat")
    def billed(self, cdr: CdrReconciliation) -> str:
        return _money(cdr.total_cost_incl_vat, cdr.currency)

    @admin.display(description="captured", ordering="captured_incl_vat")
    def captured(self, cdr: CdrReconciliation) -> str:
        return _money(cdr.captured_incl_vat, cdr.currency)

    @admin.display(description="status", ordering="reconciliation_status")
    def status(self, cdr: CdrReconciliation) -> str:
        return ReconciliationStatus.labels[cdr.reconciliation_status]

    @admin.action(description="Export selected CDRs as CSV", permissions=["view"])
    def export_selected(
        self, request: HttpRequest, queryset: QuerySet[CdrReconciliation]
    ) -> StreamingHttpResponse:
        return csv_download(cdr_export_rows(queryset), self._filename("cdrs-selected"))

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("export/", self.admin_site.admin_view(self.export_view), name="finance_cdr_export"),
            path(
                "captures-without-cdr/",
                self.admin_site.admin_view(self.captures_without_cdr_view),
                name="finance_captures_without_cdr",
            ),
        ]
        return own + super().get_urls()

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The CSV of exactly what the list shows: same filters, search and dates."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        changelist = self.get_changelist_instance(request)
        return csv_download(cdr_export_rows(changelist.get_queryset(request)), self._filename("cdrs"))

    def captures_without_cdr_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        context = {
            **self.admin_site.each_context(request),
            "title": "Captures without a CDR",
            "captures": captures_without_cdr().order_by("-last_updated")[:500],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/finance/captures_without_cdr.html", context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            context["reconciliation_totals"] = reconciliation_totals(context["cl"].queryset)
            context["export_query"] = request.GET.urlencode()
        return response

    @staticmethod
    def _filename(stem: str) -> str:
        return f"{stem}-{timezone.now():%Y%m%d-%H%M%S}.csv"
