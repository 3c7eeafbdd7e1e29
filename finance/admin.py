"""Finance's page: CDRs beside Payter's captures, with totals and a CSV export of what is shown."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from cpo_portal.admin import party_code
from finance.models import CdrReconciliation
from finance.selectors import (
    ChainRole,
    ReconciliationStatus,
    captures_without_cdr,
    captures_without_cdr_totals,
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
    list_display = (
        "cdr_link",
        "role",
        party_code,
        "ended",
        "location_name",
        "billed",
        "chain_net",
        "chain_captured",
        "chain_difference",
        "status",
    )
    list_display_links = None
    # The chain together: newest chains first, and in a chain its CDRs in the order they were made
    # (original, credit, replacement).
    ordering = ("-chain_end", "-chain_root", "pk")
    list_filter = (ReconciliationStatusFilter, "party", "currency", "end_date_time")
    search_fields = ("cdr_id", "authorization_reference", "invoice_reference_id")
    date_hierarchy = "end_date_time"
    list_select_related = ("party",)
    show_full_result_count = False
    actions = ("export_selected",)
    change_list_template = "admin/finance/cdrreconciliation/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CdrReconciliation]:
        # Annotated before ordering: the default ordering sorts by the chain's annotations.
        queryset = cdrs_with_reconciliation(self.model._default_manager.get_queryset())
        queryset = queryset.defer("tariffs", "charging_periods", "signed_data")
        return queryset.order_by(*self.get_ordering(request))

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

    @admin.display(description="CDR", ordering="cdr_id")
    def cdr_link(self, cdr: CdrReconciliation) -> str:
        """The CDR page, where its captures are listed."""
        url = reverse("admin:charging_sessions_cdr_change", args=(cdr.pk,))
        return format_html('<a href="{}">{}</a>', url, cdr.cdr_id)

    @admin.display(description="in chain")
    def role(self, cdr: CdrReconciliation) -> str:
        label = ChainRole.labels[cdr.chain_role]
        if cdr.chain_role == ChainRole.CREDIT:
            return f"{label} of {cdr.credit_reference_id}"
        return label

    @admin.display(description="chain net", ordering="chain_billed")
    def chain_net(self, cdr: CdrReconciliation) -> str:
        return _money(cdr.chain_billed, cdr.currency)

    @admin.display(description="captured (chain)", ordering="chain_captured")
    def chain_captured(self, cdr: CdrReconciliation) -> str:
        return _money(cdr.chain_captured, cdr.currency)

    @admin.display(description="difference (+ owed to driver)", ordering="chain_difference")
    def chain_difference(self, cdr: CdrReconciliation) -> str:
        return _money(cdr.chain_difference, cdr.currency)

    @admin.display(description="chain status", ordering="reconciliation_status")
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
            "totals": captures_without_cdr_totals(),
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
