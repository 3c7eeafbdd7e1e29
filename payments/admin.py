"""Admin for payment terminals and financial advice confirmations (mod_payments).

Terminals are the PTP's, but staff assign them to our locations and EVSEs here. Financial advice
confirmations are the PTP's record of what it captured: read-only, listed matched or unmatched,
and shown on the pages of their session and CDR (their admins, from sessions/admin.py, are
registered here with the confirmations: sessions knows nothing of payments).
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest
from django.utils.safestring import SafeString

from cpo_portal.admin import (
    URL_FIELD_OVERRIDES,
    HistoryAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    TimestampsOnChangeMixin,
    is_changelist,
    pretty_json,
)
from locations.admin_readiness import readiness_filter, readiness_html
from payments.models import FinancialAdviceConfirmation, PaymentTerminal
from payments.readiness import ready_terminal_pks, terminal_readiness
from sessions.admin import CdrAdmin, CdrInline, ChargingSessionAdmin, ReceivedCommandInline
from sessions.models import Cdr, ChargingSession


@admin.register(PaymentTerminal)
class PaymentTerminalAdmin(TimestampsOnChangeMixin, HistoryAdmin, admin.ModelAdmin[PaymentTerminal]):
    formfield_overrides = URL_FIELD_OVERRIDES
    list_display = (
        "terminal_id",
        "partner",
        "reference",
        "customer_reference",
        "city",
        "location_count",
        "evse_count",
        "last_updated",
    )
    list_filter = ("partner", readiness_filter(ready_terminal_pks), "invoice_creator", "country")
    search_fields = ("terminal_id", "reference", "customer_reference", "city", "locations__name")
    list_select_related = ("partner",)
    autocomplete_fields = ("locations", "evses")
    readonly_fields = ("last_updated", "readiness")
    fieldsets = (
        (None, {"fields": ("partner", "terminal_id", "reference", "customer_reference", "last_updated")}),
        ("Assigned to", {"fields": ("locations", "evses")}),
        ("Ready for the terminal", {"fields": ("readiness",)}),
        (
            "Address",
            {
                "classes": ("collapse",),
                "fields": (
                    "address",
                    ("postal_code", "city"),
                    ("state", "country"),
                    ("latitude", "longitude"),
                    ("country_code", "party_id"),
                ),
            },
        ),
        ("Invoicing", {"fields": ("invoice_creator", "invoice_base_url")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[PaymentTerminal]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                location_total=Count("locations", distinct=True), evse_total=Count("evses", distinct=True)
            )
            .order_by(*PaymentTerminal._meta.ordering)  # an aggregate drops Meta.ordering
        )

    def get_readonly_fields(
        self, request: HttpRequest, obj: PaymentTerminal | None = None
    ) -> tuple[str, ...]:
        readonly = tuple(super().get_readonly_fields(request, obj))
        # The PTP knows the terminal by this id.
        return (*readonly, "partner", "terminal_id") if obj else readonly

    @admin.display(description="checklist")
    def readiness(self, terminal: PaymentTerminal) -> SafeString | str:
        if terminal.pk is None:
            return "-"
        return readiness_html(terminal_readiness(terminal))

    @admin.display(description="locations", ordering="location_total")
    def location_count(self, terminal: PaymentTerminal) -> int:
        return terminal.location_total  # type: ignore[attr-defined]

    @admin.display(description="EVSEs", ordering="evse_total")
    def evse_count(self, terminal: PaymentTerminal) -> int:
        return terminal.evse_total  # type: ignore[attr-defined]


class MatchedFilter(admin.SimpleListFilter):
    title = "matched"
    parameter_name = "matched"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Matched to a session or CDR"), ("no", "Unmatched")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[FinancialAdviceConfirmation]
    ) -> QuerySet[FinancialAdviceConfirmation]:
        unmatched = Q(session__isnull=True, cdr__isnull=True)
        if self.value() == "yes":
            return queryset.exclude(unmatched)
        if self.value() == "no":
            return queryset.filter(unmatched)
        return queryset


@admin.register(FinancialAdviceConfirmation)
class FinancialAdviceConfirmationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[FinancialAdviceConfirmation]):
    list_display = (
        "fac_id",
        "partner",
        "authorization_reference",
        "captured",
        "capture_status",
        "matched",
        "cdr",
        "received_at",
    )
    list_filter = (MatchedFilter, "capture_status_code", "partner", "currency", "received_at")
    search_fields = ("=fac_id", "=authorization_reference", "session__session_id", "cdr__cdr_id")
    list_select_related = ("partner", "session", "cdr")
    show_full_result_count = False
    readonly_fields = ("eft_data_pretty", "taxes_pretty")
    fieldsets = (
        (None, {"fields": ("partner", "fac_id", "authorization_reference", "received_at", "last_updated")}),
        (
            "Captured",
            {
                "fields": (
                    "currency",
                    ("total_costs_excl_vat", "total_costs_incl_vat"),
                    "taxes_pretty",
                    ("capture_status_code", "capture_status_message"),
                    "eft_data_pretty",
                )
            },
        ),
        ("Matched to", {"fields": ("session", "cdr")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[FinancialAdviceConfirmation]:
        queryset = super().get_queryset(request)
        if is_changelist(request):
            queryset = queryset.defer("eft_data", "total_costs_taxes")
        return queryset

    @admin.display(description="captured incl. taxes", ordering="total_costs_incl_vat")
    def captured(self, fac: FinancialAdviceConfirmation) -> str:
        amount = (
            fac.total_costs_incl_vat if fac.total_costs_incl_vat is not None else fac.total_costs_excl_vat
        )
        return "-" if amount is None else f"{amount:.2f} {fac.currency}"

    @admin.display(description="status", ordering="capture_status_code")
    def capture_status(self, fac: FinancialAdviceConfirmation) -> str:
        return fac.get_capture_status_code_display()

    @admin.display(description="matched", boolean=True)
    def matched(self, fac: FinancialAdviceConfirmation) -> bool:
        return fac.is_matched

    @admin.display(description="receipt data (eft_data)")
    def eft_data_pretty(self, fac: FinancialAdviceConfirmation) -> SafeString:
        return pretty_json(fac.eft_data)

    @admin.display(description="taxes")
    def taxes_pretty(self, fac: FinancialAdviceConfirmation) -> SafeString:
        return pretty_json(fac.total_costs_taxes)


# -- sessions and CDRs with what the PTP captured -------------------------------------------------------


class FinancialAdviceInline(ReadOnlyInline):
    model = FinancialAdviceConfirmation
    fields = (
        "fac_id",
        "authorization_reference",
        "total_costs_excl_vat",
        "total_costs_incl_vat",
        "currency",
        "capture_status_code",
        "received_at",
    )
    readonly_fields = fields
    verbose_name_plural = "financial advice confirmations (what the PTP captured on the card)"


class CapturedFilter(admin.SimpleListFilter):
    title = "financial advice"
    parameter_name = "captured"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Confirmed by the PTP"), ("no", "No confirmation yet")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Cdr]) -> QuerySet[Cdr]:
        if self.value() == "yes":
            return queryset.filter(has_advice=True)
        if self.value() == "no":
            return queryset.filter(has_advice=False)
        return queryset


admin.site.unregister(ChargingSession)


@admin.register(ChargingSession)
class ChargingSessionWithCapturesAdmin(ChargingSessionAdmin):
    inlines = (CdrInline, FinancialAdviceInline, ReceivedCommandInline)


admin.site.unregister(Cdr)


@admin.register(Cdr)
class CdrWithCapturesAdmin(CdrAdmin):
    list_display = (*CdrAdmin.list_display, "captured")
    list_filter = (CapturedFilter, *CdrAdmin.list_filter)
    inlines = (FinancialAdviceInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cdr]:
        return (
            super()
            .get_queryset(request)
            .annotate(has_advice=Exists(FinancialAdviceConfirmation.objects.filter(cdr=OuterRef("pk"))))
        )

    @admin.display(description="captured", boolean=True, ordering="has_advice")
    def captured(self, cdr: Cdr) -> bool:
        return cdr.has_advice  # type: ignore[attr-defined]
