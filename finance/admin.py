"""Finance's page: CDRs beside Payter's captures, with totals and a CSV export of what is shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import slugify

from cpo_portal.admin import party_code
from finance.exports import EXPORT_PERMISSION, HEADER, SCREEN_ORDER, Format, filtered_cdrs
from finance.forms import ExportForm
from finance.http import export_response
from finance.models import CdrReconciliation
from finance.selectors import (
    ChainRole,
    ReconciliationStatus,
    captures_without_cdr,
    captures_without_cdr_totals,
    cdrs_with_reconciliation,
    reconciliation_totals,
)
from sessions.admin import CdrAdmin
from sessions.models import Cdr


def _money(amount: Any, currency: str) -> str:
    return "-" if amount is None else f"{amount:.2f} {currency}"


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

    list_filter = (ReconciliationStatusFilter, "party", "currency", "end_date_time")
    search_fields = ("cdr_id", "authorization_reference", "invoice_reference_id")
    date_hierarchy = "end_date_time"
    list_select_related = ("party",)
    show_full_result_count = False
    actions = ("export_csv", "export_xlsx", "export_jsonl")
    change_list_template = "admin/finance/cdrreconciliation/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CdrReconciliation]:
        # Annotated before ordering: the default ordering sorts by the chain's annotations.
        queryset = cdrs_with_reconciliation(self.model._default_manager.get_queryset())
        queryset = queryset.defer("tariffs", "charging_periods", "signed_data")
        return queryset.order_by(*self.get_ordering(request))

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        # The chain together: newest chains first, and in a chain its CDRs in the order they were
        # made (original, credit, replacement). Annotations, so not the `ordering` attribute,
        # which the system checks hold to model fields.
        return SCREEN_ORDER

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

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(EXPORT_PERMISSION)

    @admin.action(description="Export selected CDRs as CSV", permissions=["export"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[CdrReconciliation]) -> HttpResponse:
        return self._export(request, queryset, Format.CSV)

    @admin.action(description="Export selected CDRs as XLSX", permissions=["export"])
    def export_xlsx(self, request: HttpRequest, queryset: QuerySet[CdrReconciliation]) -> HttpResponse:
        return self._export(request, queryset, Format.XLSX)

    @admin.action(description="Export selected CDRs as OCPI JSON lines", permissions=["export"])
    def export_jsonl(self, request: HttpRequest, queryset: QuerySet[CdrReconciliation]) -> HttpResponse:
        return self._export(request, queryset, Format.JSONL)

    def _export(self, request: HttpRequest, queryset: QuerySet[Any], export_format: str) -> HttpResponse:
        stem = f"selected-{timezone.now():%Y%m%d-%H%M%S}"
        return export_response(export_format=export_format, queryset=queryset, user=request.user, stem=stem)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path("export/", self.admin_site.admin_view(self.export_view), name="finance_cdr_export"),
            path(
                "export-period/",
                self.admin_site.admin_view(self.export_period_view),
                name="finance_cdr_export_period",
            ),
            path(
                "captures-without-cdr/",
                self.admin_site.admin_view(self.captures_without_cdr_view),
                name="finance_captures_without_cdr",
            ),
        ]
        return own + super().get_urls()

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """Exactly what the list shows, in its order: same filters, search and dates.

        ``export_format`` chooses csv (default), xlsx or jsonl; the list's own parameters pass through.
        """
        if not self.has_export_permission(request):
            return HttpResponse(status=403)
        export_format = request.GET.get("export_format", Format.CSV)
        if export_format not in Format.content_types:
            return HttpResponse("Unknown export_format.", status=400, content_type="text/plain")
        # The changelist reads every GET parameter as a filter: hand it the list's own only.
        request.GET = request.GET.copy()
        request.GET.pop("export_format", None)
        changelist = self.get_changelist_instance(request)
        filters = slugify("_".join(f"{key}-{value}" for key, value in request.GET.items())) or "all"
        stem = f"reconciliation_{filters}_{timezone.now():%Y%m%d-%H%M%S}"
        return export_response(
            export_format=export_format,
            queryset=changelist.get_queryset(request),
            user=request.user,
            stem=stem,
        )

    def export_period_view(self, request: HttpRequest) -> HttpResponse:
        """The export page: a period in a chosen time zone, party, partner, location, currency, credits."""
        if not self.has_export_permission(request):
            return HttpResponse(status=403)
        form = ExportForm(request.GET if "export_format" in request.GET else None)
        if form.is_valid():
            export_filter = form.export_filter()
            return export_response(
                export_format=form.cleaned_data["export_format"],
                queryset=filtered_cdrs(export_filter),
                user=request.user,
                stem=export_filter.describe(),
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Export CDRs",
            "form": form,
            "opts": self.model._meta,
            "columns": HEADER,
        }
        return TemplateResponse(request, "admin/finance/export.html", context)

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
            context["can_export"] = self.has_export_permission(request)
        return response


# The CDR list belongs to the charging flow's admin, a lower layer that knows nothing of finance:
# finance adds its export actions to it here, as it registers its own admin.
def _cdr_list_export_action(export_format: str, label: str) -> Any:
    @admin.action(description=f"Export selected CDRs as {label}", permissions=["export"])
    def export(
        modeladmin: admin.ModelAdmin[Cdr], request: HttpRequest, queryset: QuerySet[Cdr]
    ) -> HttpResponse:
        stem = f"cdrs-selected-{timezone.now():%Y%m%d-%H%M%S}"
        return export_response(export_format=export_format, queryset=queryset, user=request.user, stem=stem)

    export.__name__ = f"export_{export_format}"
    return export


def _may_export(modeladmin: admin.ModelAdmin[Cdr], request: HttpRequest) -> bool:
    return request.user.has_perm(EXPORT_PERMISSION)


CdrAdmin.has_export_permission = _may_export  # type: ignore[attr-defined]
CdrAdmin.actions = (
    *CdrAdmin.actions,
    _cdr_list_export_action(Format.CSV, "CSV"),
    _cdr_list_export_action(Format.XLSX, "XLSX"),
    _cdr_list_export_action(Format.JSONL, "OCPI JSON lines"),
)
