"""Read-only admin for charging sessions and CDRs.

Sessions come from the chargers and the PTP's commands, CDRs are immutable billing records, so
staff look but never edit here. Both tables grow without bound: no full counts on the
changelists, and the JSON snapshots are loaded only on a record's own page. What the PTP
captured for a session or CDR is shown by payments/admin.py, which registers these admins with
its financial advice confirmations (payments sits above sessions).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from cpo_portal.admin import (
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    is_changelist,
    local_period,
    party_code,
    pretty_json,
)
from partners.outbox import cdr_recipients, cdrs_queued
from sessions.credits import cdr_credit_and_correct
from sessions.exceptions import SessionStateError
from sessions.forms import CdrCorrectionForm
from sessions.models import Cdr, ChargingSession, MeterReading, ReceivedCommand

_TOKEN_FIELDS = (
    "partner",
    ("token_country_code", "token_party_id"),
    ("token_uid", "token_type"),
    "token_contract_id",
    "auth_method",
    "authorization_reference",
)


def _money(amount: Any, currency: str) -> str:
    return "-" if amount is None else f"{amount:.2f} {currency}"


class CdrInline(ReadOnlyInline):
    model = Cdr
    fields = (
        "cdr_id",
        "end_date_time",
        "total_energy",
        "total_cost_excl_vat",
        "total_cost_incl_vat",
        "credit",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cdr]:
        return super().get_queryset(request).only(*self.fields, "session", "currency", "party")


class ReceivedCommandInline(ReadOnlyInline):
    model = ReceivedCommand
    fields = ("created_at", "command", "response_result", "result", "result_at", "delivered_at")
    readonly_fields = fields
    verbose_name_plural = "commands received for this session"


@admin.register(ChargingSession)
class ChargingSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[ChargingSession]):
    list_display = (
        "session_id",
        "status",
        "location",
        "evse",
        "start_date_time",
        "duration",
        "kwh",
        "cost",
    )
    list_filter = ("status", "start_date_time", "party", "partner", "auth_method")
    search_fields = (
        "=session_id",
        "=authorization_reference",
        "=token_uid",
        "evse__evse_id",
        "location__location_id",
    )
    list_select_related = ("location", "evse", "partner")
    show_full_result_count = False
    # payments/admin.py adds the financial advice confirmations between the two.
    inlines = (CdrInline, ReceivedCommandInline)
    readonly_fields = (
        "charging_periods_pretty",
        "total_cost_taxes_pretty",
        "meter_readings_link",
        "local_time",
    )
    fieldsets = (
        (None, {"fields": ("party", "session_id", "status", "last_updated")}),
        ("Where", {"fields": ("location", "evse", "connector", "meter_id")}),
        ("Token", {"fields": _TOKEN_FIELDS}),
        ("Price", {"fields": ("tariff", "preauthorized_amount")}),
        (
            "Progress",
            {
                "fields": (
                    "created_at",
                    ("start_date_time", "end_date_time"),
                    "local_time",
                    ("stop_requested_at", "stop_reason"),
                    ("kwh", "meter_readings_link"),
                    "currency",
                    ("total_cost_excl_vat", "total_cost_incl_vat"),
                    "total_cost_taxes_pretty",
                ),
                # The stored cost is priced from the readings only; the stop before the
                # pre-authorised amount looks at the cost extrapolated to now.
                "description": "Costs are as of the last meter reading (a CDR ending there says the same). "
                "The stop before the pre-authorised amount uses the cost extrapolated to now at "
                "the last known power.",
            },
        ),
        ("Charging periods", {"classes": ("collapse",), "fields": ("charging_periods_pretty",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ChargingSession]:
        queryset = super().get_queryset(request)
        if is_changelist(request):
            queryset = queryset.defer("charging_periods", "total_cost_taxes")
        return queryset

    @admin.display(description="duration")
    def duration(self, session: ChargingSession) -> str:
        if session.end_date_time is None:
            return "running"
        minutes = int((session.end_date_time - session.start_date_time).total_seconds() // 60)
        return f"{minutes // 60}:{minutes % 60:02d}"

    # "As of the last reading" is said on the session's page (Progress); the list keeps it short.
    @admin.display(description="cost incl. VAT", ordering="total_cost_incl_vat")
    def cost(self, session: ChargingSession) -> str:
        return _money(session.total_cost_incl_vat, session.currency)

    @admin.display(description="location's local time")
    def local_time(self, session: ChargingSession) -> str:
        return local_period(session.start_date_time, session.end_date_time, session.location.time_zone)

    @admin.display(description="meter readings")
    def meter_readings_link(self, session: ChargingSession) -> SafeString:
        # A long session has thousands of readings: link to their list instead of an inline.
        url = reverse("admin:charging_sessions_meterreading_changelist")
        count = session.meter_readings.count()
        return format_html('<a href="{}?session__id__exact={}">{} reading(s)</a>', url, session.pk, count)

    @admin.display(description="charging periods")
    def charging_periods_pretty(self, session: ChargingSession) -> SafeString:
        return pretty_json(session.charging_periods)

    @admin.display(description="taxes")
    def total_cost_taxes_pretty(self, session: ChargingSession) -> SafeString:
        return pretty_json(session.total_cost_taxes)


_COST_ROWS = ("", "fixed_", "energy_", "time_", "parking_", "reservation_")


def _nothing_sent(cdr: Cdr, *, done: bool = True) -> str:
    partner = cdr.partner.name if cdr.partner else "No partner"
    return (
        f"Nothing {'was' if done else 'will be'} sent: {partner} is not connected to receive CDRs"
        " (no registered CDRs receiver endpoint). The new CDRs are kept; the partner can fetch"
        " them with GET cdrs once connected."
    )


@admin.register(Cdr)
class CdrAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[Cdr]):
    list_display = (
        "cdr_id",
        party_code,
        "session",
        "ended",
        "energy",
        "cost_excl_vat",
        "cost_incl_vat",
        "credit",
    )
    list_filter = ("party", "partner", "currency", "credit", "end_date_time")
    search_fields = ("=cdr_id", "=authorization_reference", "=token_uid", "session__session_id")
    list_select_related = ("party", "session")
    show_full_result_count = False
    actions = ("credit_and_correct",)
    readonly_fields = (
        "costs_table",
        "cdr_location_pretty",
        "tariffs_pretty",
        "charging_periods_pretty",
        "local_time",
    )
    fieldsets = (
        (None, {"fields": ("party", "cdr_id", "session", "last_updated")}),
        ("Token", {"fields": _TOKEN_FIELDS}),
        (
            "Totals",
            {
                "fields": (
                    ("start_date_time", "end_date_time"),
                    "local_time",
                    ("total_energy", "total_time", "total_parking_time"),
                    "currency",
                    "costs_table",
                )
            },
        ),
        (
            "Invoice and credit",
            {
                "fields": (
                    "invoice_reference_id",
                    ("credit", "credit_reference_id"),
                    "home_charging_compensation",
                    "remark",
                )
            },
        ),
        ("Location as charged", {"fields": ("cdr_location_pretty",)}),
        ("Tariffs as applied", {"classes": ("collapse",), "fields": ("tariffs_pretty",)}),
        (
            "Charging periods",
            {"classes": ("collapse",), "fields": ("charging_periods_pretty", "signed_data")},
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Cdr]:
        queryset = super().get_queryset(request)
        if is_changelist(request):
            queryset = queryset.defer(
                "cdr_location", "tariffs", "charging_periods", "signed_data", *self._tax_fields()
            )
        return queryset

    @staticmethod
    def _tax_fields() -> list[str]:
        return [f"total_{row}cost_taxes" for row in _COST_ROWS]

    @admin.display(description="ended", ordering="end_date_time")
    def ended(self, cdr: Cdr) -> str:
        return f"{cdr.end_date_time:%Y-%m-%d %H:%M} UTC"

    @admin.display(description="location's local time")
    def local_time(self, cdr: Cdr) -> str:
        # The snapshot in cdr_location has no time zone; the session's location has.
        if cdr.session is None:
            return "-"
        return local_period(cdr.start_date_time, cdr.end_date_time, cdr.session.location.time_zone)

    @admin.display(description="kWh", ordering="total_energy")
    def energy(self, cdr: Cdr) -> str:
        return f"{cdr.total_energy.normalize():f}"

    @admin.display(description="excl. taxes", ordering="total_cost_excl_vat")
    def cost_excl_vat(self, cdr: Cdr) -> str:
        return _money(cdr.total_cost_excl_vat, cdr.currency)

    @admin.display(description="incl. taxes", ordering="total_cost_incl_vat")
    def cost_incl_vat(self, cdr: Cdr) -> str:
        return _money(cdr.total_cost_incl_vat, cdr.currency)

    def has_credit_permission(self, request: HttpRequest) -> bool:
        # A correction writes new CDRs: the same right as adding one.
        return request.user.has_perm("charging_sessions.add_cdr")

    @admin.action(description="Credit and correct the selected CDR", permissions=["credit"])
    def credit_and_correct(self, request: HttpRequest, queryset: QuerySet[Cdr]) -> HttpResponse | None:
        """mod_cdrs: a CDR never changes; a credit CDR cancels it and a new CDR replaces it."""
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one CDR to correct.", messages.ERROR)
            return None
        cdr = queryset.get()
        form = CdrCorrectionForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                credit, corrected = cdr_credit_and_correct(
                    cdr=cdr, corrections=form.corrections(cdr), remark=form.cleaned_data["remark"]
                )
            except SessionStateError as error:
                self.message_user(request, str(error), messages.ERROR)
                return None
            done = f"Credit CDR {credit.cdr_id} created"
            done += f", and corrected CDR {corrected.cdr_id}." if corrected else "."
            self.message_user(request, done, messages.SUCCESS)
            queued = cdrs_queued([credit, *([corrected] if corrected else [])])
            if queued:
                self.message_user(request, "Queued: " + "; ".join(queued) + ".", messages.INFO)
            else:
                self.message_user(request, _nothing_sent(cdr), messages.WARNING)
            return None
        recipients = cdr_recipients(cdr)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Credit and correct CDR {cdr.cdr_id}",
            "cdr": cdr,
            "form": form,
            "recipients": recipients,
            "not_connected": "" if recipients else _nothing_sent(cdr, done=False),
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/charging_sessions/cdr/credit_and_correct.html", context)

    @admin.display(description="costs")
    def costs_table(self, cdr: Cdr) -> SafeString:
        labels = {
            "": "Total",
            "fixed_": "Fixed",
            "energy_": "Energy",
            "time_": "Time",
            "parking_": "Parking",
            "reservation_": "Reservation",
        }
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    labels[row],
                    _money(getattr(cdr, f"total_{row}cost_excl_vat"), cdr.currency),
                    _money(getattr(cdr, f"total_{row}cost_incl_vat"), cdr.currency),
                    ", ".join(
                        f"{tax.get('name', 'tax')} {tax.get('percentage', '?')}%: {tax.get('amount')}"
                        for tax in getattr(cdr, f"total_{row}cost_taxes") or []
                    )
                    or "-",
                )
                for row in _COST_ROWS
                if row == "" or getattr(cdr, f"total_{row}cost_excl_vat") is not None
            ),
        )
        return format_html(
            "<table><thead><tr><th></th><th>excl. taxes</th><th>incl. taxes</th><th>taxes</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="CdrLocation")
    def cdr_location_pretty(self, cdr: Cdr) -> SafeString:
        return pretty_json(cdr.cdr_location)

    @admin.display(description="tariffs")
    def tariffs_pretty(self, cdr: Cdr) -> SafeString:
        return pretty_json(cdr.tariffs)

    @admin.display(description="charging periods")
    def charging_periods_pretty(self, cdr: Cdr) -> SafeString:
        return pretty_json(cdr.charging_periods)


@admin.register(MeterReading)
class MeterReadingAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[MeterReading]):
    list_display = ("session", "timestamp", "energy_kwh", "power_kw", "current_a", "charging")
    list_filter = ("charging", "timestamp")
    search_fields = ("=session__session_id",)
    list_select_related = ("session",)
    raw_id_fields = ("session",)
    show_full_result_count = False


@admin.register(ReceivedCommand)
class ReceivedCommandAdmin(ReadOnlyAdminMixin, admin.ModelAdmin[ReceivedCommand]):
    list_display = (
        "created_at",
        "command",
        "partner",
        "version",
        "response_result",
        "result",
        "delivered",
        "delivery_attempts",
        "session",
    )
    list_filter = ("command", "response_result", "result", "partner", "version")
    search_fields = ("=session__session_id", "response_url")
    list_select_related = ("partner", "session")
    raw_id_fields = ("session",)
    show_full_result_count = False
    readonly_fields = ("request_body_pretty", "idempotency_key")
    fieldsets = (
        (None, {"fields": ("created_at", "partner", "command", "version", "idempotency_key", "session")}),
        ("Request", {"fields": ("request_body_pretty", "response_url")}),
        ("Our answer", {"fields": ("response_result", "response_timeout", "response_message")}),
        (
            "Charger result",
            {
                "fields": (
                    ("result", "result_at"),
                    "result_message",
                    ("delivered_at", "delivery_attempts"),
                    "last_delivery_error",
                )
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReceivedCommand]:
        queryset = super().get_queryset(request)
        if is_changelist(request):
            queryset = queryset.defer("request_body")
        return queryset

    @admin.display(description="result delivered", boolean=True, ordering="delivered_at")
    def delivered(self, command: ReceivedCommand) -> bool | None:
        if not command.result:
            return None
        return command.delivered_at is not None

    @admin.display(description="request body")
    def request_body_pretty(self, command: ReceivedCommand) -> SafeString:
        return pretty_json(command.request_body)
