"""Reads for finance: CDRs beside the captures Payter confirmed, and captures with no CDR.

A card payment is matched through the PTP's ``authorization_reference`` (mod_payments, Financial
Advice Confirmation object): the FAC tells what was captured "with VAT", so it is compared with
the CDR's total including taxes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    Case,
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)

from payments.models import CaptureStatusCode, FinancialAdviceConfirmation
from sessions.models import Cdr


class ReconciliationStatus:
    """How a CDR stands against the capture; values are stable, they appear in exports."""

    MATCHED = "MATCHED"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    PARTIAL_CAPTURE = "PARTIAL_CAPTURE"
    CAPTURE_FAILED = "CAPTURE_FAILED"
    AWAITING_CAPTURE = "AWAITING_CAPTURE"
    CREDIT = "CREDIT"
    NOT_CARD_PAYMENT = "NOT_CARD_PAYMENT"

    choices = (
        (MATCHED, "Captured as billed"),
        (AMOUNT_MISMATCH, "Captured amount differs"),
        (PARTIAL_CAPTURE, "Partially captured"),
        (CAPTURE_FAILED, "Capture failed"),
        (AWAITING_CAPTURE, "Awaiting capture"),
        (CREDIT, "Credit CDR"),
        (NOT_CARD_PAYMENT, "Not a card payment"),
    )
    labels = dict(choices)


def _fac_for_cdr() -> QuerySet[FinancialAdviceConfirmation]:
    # The newest confirmation wins: a PTP may post a FAILED capture and later a SUCCESS one.
    return FinancialAdviceConfirmation.objects.filter(
        partner=OuterRef("partner"), authorization_reference=OuterRef("authorization_reference")
    ).order_by("-last_updated", "-pk")


def cdrs_with_reconciliation(queryset: QuerySet[Cdr] | None = None) -> QuerySet[Cdr]:
    """CDRs annotated with their capture: fac_id, captured_incl_vat, capture_status, reconciliation_status."""
    queryset = Cdr.objects.all() if queryset is None else queryset
    latest = _fac_for_cdr()
    return queryset.annotate(
        fac_id=Subquery(latest.values("fac_id")[:1]),
        captured_incl_vat=Subquery(latest.values("total_costs_incl_vat")[:1]),
        capture_status=Subquery(latest.values("capture_status_code")[:1]),
    ).annotate(
        reconciliation_status=Case(
            When(credit=True, then=Value(ReconciliationStatus.CREDIT)),
            When(
                Q(authorization_reference="") | Q(partner__isnull=True),
                then=Value(ReconciliationStatus.NOT_CARD_PAYMENT),
            ),
            When(fac_id__isnull=True, then=Value(ReconciliationStatus.AWAITING_CAPTURE)),
            When(capture_status=CaptureStatusCode.FAILED, then=Value(ReconciliationStatus.CAPTURE_FAILED)),
            When(
                capture_status=CaptureStatusCode.PARTIAL_SUCCESS,
                then=Value(ReconciliationStatus.PARTIAL_CAPTURE),
            ),
            When(captured_incl_vat=F("total_cost_incl_vat"), then=Value(ReconciliationStatus.MATCHED)),
            default=Value(ReconciliationStatus.AMOUNT_MISMATCH),
            output_field=CharField(),
        )
    )


def reconciliation_totals(queryset: QuerySet[Cdr]) -> dict[str, dict[str, Decimal]]:
    """Billed and captured sums of an annotated queryset (card payments only), per currency."""
    card_payments = queryset.exclude(
        reconciliation_status__in=(ReconciliationStatus.NOT_CARD_PAYMENT, ReconciliationStatus.CREDIT)
    )
    rows = card_payments.values("currency").annotate(
        billed=Sum("total_cost_incl_vat"), captured=Sum("captured_incl_vat")
    )
    totals = {}
    for row in rows.order_by("currency"):
        billed, captured = row["billed"] or Decimal(0), row["captured"] or Decimal(0)
        totals[row["currency"]] = {"billed": billed, "captured": captured, "difference": captured - billed}
    return totals


def captures_without_cdr() -> QuerySet[FinancialAdviceConfirmation]:
    """Confirmations whose authorization_reference matches no CDR of that partner (yet)."""
    cdr_exists = Cdr.objects.filter(
        partner=OuterRef("partner"), authorization_reference=OuterRef("authorization_reference")
    )
    return FinancialAdviceConfirmation.objects.filter(~Exists(cdr_exists)).select_related("partner")


EXPORT_COLUMNS = (
    "cdr_id",
    "party",
    "partner",
    "start_date_time",
    "end_date_time",
    "location_id",
    "evse_id",
    "total_energy_kwh",
    "currency",
    "total_cost_excl_vat",
    "total_cost_incl_vat",
    "authorization_reference",
    "invoice_reference_id",
    "credit",
    "credit_reference_id",
    "fac_id",
    "captured_incl_vat",
    "capture_status",
    "reconciliation_status",
)


def _utc(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _text(value: str) -> str:
    """Neutralise text a spreadsheet would run as a formula (CSV injection); amounts are not text."""
    return f"'{value}" if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def cdr_export_rows(queryset: QuerySet[Cdr]) -> Iterator[list[str]]:
    """The rows of the finance CSV, header first; amounts with two decimals, times in UTC."""
    yield list(EXPORT_COLUMNS)
    annotated = (
        cdrs_with_reconciliation(queryset).select_related("party", "partner").order_by("end_date_time", "pk")
    )
    for cdr in annotated.iterator(chunk_size=2000):
        yield [
            _text(cdr.cdr_id),
            f"{cdr.party.country_code}*{cdr.party.party_id}",
            _text(cdr.partner.name) if cdr.partner else "",
            _utc(cdr.start_date_time),
            _utc(cdr.end_date_time),
            _text(str(cdr.cdr_location.get("id", ""))),
            _text(str(cdr.cdr_location.get("evse_id", ""))),
            f"{cdr.total_energy:.3f}",
            cdr.currency,
            _amount(cdr.total_cost_excl_vat),
            _amount(cdr.total_cost_incl_vat),
            _text(cdr.authorization_reference),
            _text(cdr.invoice_reference_id),
            "yes" if cdr.credit else "no",
            _text(cdr.credit_reference_id),
            _text(cdr.fac_id or ""),
            _amount(cdr.captured_incl_vat),
            cdr.capture_status or "",
            cdr.reconciliation_status,
        ]
