"""Finance's page: CDRs beside Payter's captures, with totals and a CSV export of what is shown."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.text import slugify

from cpo_portal.admin import party_code
from finance.charts import Series, bar_chart
from finance.export_queries import SCREEN_ORDER
from finance.exports import EXPORT_PERMISSION, HEADER, ExportFilter, Format, filtered_cdrs
from finance.forms import ExportForm, SummaryForm
from finance.http import export_response, summary_response
from finance.jobs import (
    SUMMARY_FORMATS,
    export_job_may_download,
    export_job_path,
    export_job_start,
    export_job_status,
)
from finance.models import CdrReconciliation, ExportJob
from finance.selectors import (
    ChainRole,
    ReconciliationStatus,
    captures_without_cdr,
    captures_without_cdr_totals,
    cdrs_with_reconciliation,
    reconciliation_totals,
)
from finance.summaries import SUMMARY_COLUMNS, SummaryRow, period_summary, summary_totals, tax_rate_labels
from sessions.admin import CdrAdmin
from sessions.models import Cdr

SUMMARY_PAGE_ROWS = 2000


def _file_chunks(path: Path) -> Iterator[bytes]:
    # Opened when the response starts to send, closed when done or when the response is closed.
    with path.open("rb") as file:
        while chunk := file.read(64 * 1024):
            yield chunk


def summary_charts(rows: list[SummaryRow], export_filter: ExportFilter) -> list[dict[str, Any]]:
    """One chart per currency: revenue incl. taxes and captured, per day of the period."""
    if not export_filter.date_from or not export_filter.date_to:
        return []
    days = [
        export_filter.date_from + timedelta(days=offset)
        for offset in range((export_filter.date_to - export_filter.date_from).days + 1)
    ]
    charts = []
    for currency in sorted({row.currency for row in rows}):
        revenue = dict.fromkeys(days, Decimal(0))
        captured = dict.fromkeys(days, Decimal(0))
        for row in rows:
            if row.currency == currency and row.day in revenue:
                revenue[row.day] += row.revenue_incl_vat
                captured[row.day] += row.captured_incl_vat
        svg = bar_chart(
            days=days,
            series=[
                Series("Revenue incl. taxes", list(revenue.values()), "bar-revenue"),
                Series("Captured", list(captured.values()), "bar-captured"),
            ],
            unit=currency,
        )
        charts.append({"currency": currency, "svg": mark_safe(svg)})  # noqa: S308 - built with html.escape
    return charts


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
            path("summary/", self.admin_site.admin_view(self.summary_view), name="finance_period_summary"),
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
        """The export page: a period in a chosen time zone, party, partner, location, currency, credits.

        GET with ``export_format`` downloads at once (a link, a bookmark); POST (the page's form)
        downloads at once too unless the export holds more than FINANCE_EXPORT_ASYNC_ROWS CDRs or
        "in the background" is ticked: then it starts an export job and shows its progress. A GET
        never starts a job.
        """
        if not self.has_export_permission(request):
            return HttpResponse(status=403)
        posted = request.method == "POST"
        form = ExportForm(request.POST if posted else request.GET if "export_format" in request.GET else None)
        too_many = None
        if form.is_valid():
            data = form.cleaned_data
            export_filter = form.export_filter()
            if not (posted and data["background"]):
                if data["contents"] == ExportJob.Contents.SUMMARY:  # a row per day and location: small
                    return summary_response(export_filter=export_filter, export_format=data["export_format"])
                queryset = filtered_cdrs(export_filter)
                count = queryset.count()
                if count <= settings.FINANCE_EXPORT_ASYNC_ROWS:
                    return export_response(
                        export_format=data["export_format"],
                        queryset=queryset,
                        user=request.user,
                        stem=export_filter.describe(),
                    )
                too_many = count
            if posted:
                job = export_job_start(
                    user=request.user,
                    contents=data["contents"],
                    export_format=data["export_format"],
                    export_filter=export_filter,
                )
                self.message_user(request, f"Export job started: {job.file_name}.", messages.INFO)
                return redirect("admin:finance_exportjob_change", job.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Export CDRs",
            "form": form,
            "opts": self.model._meta,
            "columns": HEADER,
            "summary_columns": [name for name, _ in SUMMARY_COLUMNS],
            "threshold": settings.FINANCE_EXPORT_ASYNC_ROWS,
            "too_many": too_many,
        }
        return TemplateResponse(request, "admin/finance/export.html", context)

    def summary_view(self, request: HttpRequest) -> HttpResponse:
        """Period summaries: per day, location and currency, with a chart and per-currency totals;
        ``download=csv|xlsx`` downloads them (for whoever may export)."""
        if not self.has_view_permission(request):
            return HttpResponse(status=403)
        form = SummaryForm(request.GET or None)
        today = timezone.now().date()
        valid = form.is_valid() if form.is_bound else True
        export_filter = form.export_filter(today=today) if form.is_bound and valid else None
        if not form.is_bound:
            form = SummaryForm(initial={"time_zone": "UTC"})
            export_filter = ExportFilter(date_from=today - timedelta(days=30), date_to=today)
        download = request.GET.get("download")
        if download and export_filter is not None:
            if not self.has_export_permission(request):
                return HttpResponse(status=403)
            if download not in SUMMARY_FORMATS:
                return HttpResponse("Unknown download format.", status=400, content_type="text/plain")
            return summary_response(export_filter=export_filter, export_format=download)
        rows = period_summary(export_filter) if export_filter is not None else []
        query = request.GET.copy()
        query.pop("download", None)
        context = {
            **self.admin_site.each_context(request),
            "title": "Period summary",
            "form": form,
            "opts": self.model._meta,
            "export_filter": export_filter,
            "rows": rows[:SUMMARY_PAGE_ROWS],
            "rows_cut": len(rows) > SUMMARY_PAGE_ROWS,
            "row_count": len(rows),
            "rates": tax_rate_labels(rows),
            "totals": summary_totals(rows),
            "charts": summary_charts(rows, export_filter) if export_filter is not None else [],
            "query": query.urlencode(),
            "can_export": self.has_export_permission(request),
        }
        return TemplateResponse(request, "admin/finance/summary.html", context)

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


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin[ExportJob]):
    """Large and scheduled exports: their progress, their file while it is kept, or their error.

    Jobs are started from the export page and by the beat schedule, never added or edited here.
    Whoever may export sees every job; anyone else with the view permission only their own.
    """

    list_display = ("created_at", "file_name", "owner", "schedule_label", "status", "progress", "download")
    list_display_links = ("created_at", "file_name")
    list_filter = ("status", "schedule", "contents", "export_format")
    search_fields = ("file_name", "owner__username")
    list_select_related = ("owner",)
    raw_id_fields = ("owner",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "owner",
        "schedule",
        "contents",
        "export_format",
        "filters",
        "unmask",
        "status",
        "rows_done",
        "rows_total",
        "file_name",
        "file_size",
        "error",
        "created_at",
        "started_at",
        "finished_at",
        "expires_at",
    )
    fields = readonly_fields
    change_form_template = "admin/finance/exportjob/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ExportJob]:
        queryset = super().get_queryset(request)
        if request.user.has_perm(EXPORT_PERMISSION):
            return queryset
        return queryset.filter(owner=request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The purge (export_jobs_maintain) deletes files when their time is up; the record stays.
        return False

    @admin.display(description="schedule", ordering="schedule")
    def schedule_label(self, job: ExportJob) -> str:
        return job.get_schedule_display()

    @admin.display(description="progress")
    def progress(self, job: ExportJob) -> str:
        if job.rows_total is None:
            return "-"
        shown = (job.rows_total or 1) if job.status == ExportJob.Status.DONE else job.rows_done
        # No row counted yet (queued, or a CSV the database is writing in one statement): a bar
        # that moves without a value.
        value = format_html(' value="{}"', shown) if shown else ""
        return format_html(
            '<progress max="{}"{}>{} %</progress> {} / {}',
            job.rows_total or 1,
            value,
            job.percent,
            job.rows_done,
            job.rows_total,
        )

    @admin.display(description="file")
    def download(self, job: ExportJob) -> str:
        if job.status != ExportJob.Status.DONE:
            return "-"
        url = reverse("admin:finance_exportjob_download", args=(job.pk,))
        return format_html('<a href="{}">Download</a>', url)

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:object_id>/status/",
                self.admin_site.admin_view(self.status_view),
                name="finance_exportjob_status",
            ),
            path(
                "<int:object_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="finance_exportjob_download",
            ),
        ]
        return own + super().get_urls()

    def _job_for(self, request: HttpRequest, object_id: int) -> ExportJob | None:
        job = get_object_or_404(ExportJob, pk=object_id)
        return job if export_job_may_download(job, request.user) else None

    def status_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """What the progress bar polls (finance/static/finance/export_job.js)."""
        if request.method != "GET":
            return HttpResponse(status=405)
        job = self._job_for(request, object_id)
        if job is None:
            return HttpResponse(status=403)
        return JsonResponse(export_job_status(job), headers={"Cache-Control": "no-store"})

    def download_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The job's file: for its owner, or whoever may export (and see token uids, if in full)."""
        if request.method != "GET":
            return HttpResponse(status=405)
        job = self._job_for(request, object_id)
        if job is None:
            return HttpResponse(status=403)
        path = export_job_path(job)
        if job.status != ExportJob.Status.DONE or path is None or not path.exists():
            return HttpResponse("This export has no file (not done, or expired).", status=404)
        response = StreamingHttpResponse(
            _file_chunks(path),
            content_type=Format.content_types.get(job.export_format, "application/octet-stream"),
        )
        response["Content-Disposition"] = content_disposition_header(
            as_attachment=True, filename=job.file_name
        )
        response["Content-Length"] = str(path.stat().st_size)
        return response

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        job = ExportJob.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        extra = {
            "job": job,
            "may_download": job is not None and export_job_may_download(job, request.user),
            "status_url": reverse("admin:finance_exportjob_status", args=(job.pk,)) if job else "",
            "download_url": reverse("admin:finance_exportjob_download", args=(job.pk,)) if job else "",
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})
