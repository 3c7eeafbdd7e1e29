"""Period summaries: per day, location and currency, what was charged, billed, taxed and captured.

The rules are the reconciliation's (finance/selectors.py): a credit CDR cancels the CDR it credits
(its amounts are negative; its session and energy count negatively here), and a capture belongs to
one authorisation, so it is counted once, on the day and location of the chain's first CDR.
Aggregates run in SQL on PostgreSQL and SQLite alike. Amounts are summed as whole ten-thousandths
(CAST(ROUND(x * 10000) AS BIGINT)): exact on both, where SQLite would otherwise sum floats.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    DecimalField,
    Exists,
    Expression,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Round, TruncDate

from finance.exports import Credits, ExportFilter, filtered_cdrs
from locations.models import Location
from payments.models import CaptureStatusCode, FinancialAdviceConfirmation
from sessions.models import Cdr

_SCALE = 10_000  # amounts and energy have four decimals (sessions.models.amount_field)
_CENT = Decimal("0.01")
_AMOUNT = DecimalField(max_digits=14, decimal_places=4)


@dataclass(kw_only=True)
class SummaryRow:
    """One day, location and currency. Amounts in the currency, exact; energy in kWh."""

    day: date
    location_id: str
    location_name: str = ""
    currency: str
    sessions: int = 0
    energy_kwh: Decimal = Decimal(0)
    revenue_excl_vat: Decimal = Decimal(0)
    revenue_incl_vat: Decimal = Decimal(0)
    # Card payments only (an authorisation of a partner): what the captures are compared with.
    card_billed_incl_vat: Decimal = Decimal(0)
    captured_incl_vat: Decimal = Decimal(0)
    taxes_per_rate: dict[str, Decimal] = field(default_factory=dict)

    @property
    def taxes(self) -> Decimal:
        return self.revenue_incl_vat - self.revenue_excl_vat

    @property
    def difference(self) -> Decimal:
        """Captured - billed of the card payments: > 0 is owed to drivers."""
        return self.captured_incl_vat - self.card_billed_incl_vat


def _scaled(expression: Expression | F) -> Cast:
    return Cast(Round(expression * Value(Decimal(_SCALE)), output_field=_AMOUNT), BigIntegerField())


def _unscaled(value: Any, *, places: Decimal = _CENT) -> Decimal:
    return (Decimal(int(value or 0)) / _SCALE).quantize(places)


def _card() -> Q:
    return ~Q(authorization_reference="") & Q(partner__isnull=False)


def _summary_queryset(export_filter: ExportFilter) -> QuerySet[Cdr]:
    # Credits always count: leaving one out would leave the CDR it cancels counted.
    cdrs = filtered_cdrs(replace(export_filter, credits=Credits.ALL)).order_by()
    return cdrs.annotate(
        s_day=TruncDate("end_date_time", tzinfo=ZoneInfo(export_filter.time_zone)),
        s_location=KT("cdr_location__id"),
    )


def _captured_per_group(cdrs: QuerySet[Cdr]) -> QuerySet[Any]:
    earlier_in_chain = Cdr.objects.filter(
        partner=OuterRef("partner"),
        authorization_reference=OuterRef("authorization_reference"),
        pk__lt=OuterRef("pk"),
    )
    # The newest confirmation of the authorisation, as in finance.selectors._latest_capture().
    latest = (
        FinancialAdviceConfirmation.objects.filter(
            partner=OuterRef("partner"), authorization_reference=OuterRef("authorization_reference")
        )
        .order_by("-last_updated", "-pk")
        .annotate(
            amount=Case(
                When(capture_status_code=CaptureStatusCode.FAILED, then=Value(Decimal(0))),
                default=F("total_costs_incl_vat"),
                output_field=_AMOUNT,
            )
        )
        .values("amount")[:1]
    )
    return (
        cdrs.filter(_card())
        .filter(~Exists(earlier_in_chain))
        .annotate(s_captured=Subquery(latest, output_field=_AMOUNT))
        .values("s_day", "s_location", "currency")
        .annotate(captured=Sum(_scaled(F("s_captured"))))
    )


def _taxes_sql(inner_sql: str) -> str:
    # Each tax line of a CDR's total (2.3.0 TaxAmount: name, percentage, amount as a string).
    # The one place the two databases differ: how a JSON array becomes rows.
    if connection.vendor == "postgresql":
        source = (
            f"({inner_sql}) AS cdr CROSS JOIN LATERAL jsonb_array_elements("
            "CASE WHEN jsonb_typeof(cdr.total_cost_taxes) = 'array' THEN cdr.total_cost_taxes"
            " ELSE '[]'::jsonb END) AS line"
        )
        name, rate, amount = "line->>'name'", "line->>'percentage'", "CAST(line->>'amount' AS numeric)"
    else:
        source = f"({inner_sql}) AS cdr, json_each(cdr.total_cost_taxes) AS line"
        name = "json_extract(line.value, '$.name')"
        rate = "CAST(json_extract(line.value, '$.percentage') AS TEXT)"
        amount = "CAST(json_extract(line.value, '$.amount') AS REAL)"
    return (
        f"SELECT cdr.s_day, cdr.s_location, cdr.currency, {name}, {rate},"  # noqa: S608
        f" SUM(CAST(ROUND({amount} * {_SCALE}) AS BIGINT)) FROM {source}"
        " GROUP BY cdr.s_day, cdr.s_location, cdr.currency, 4, 5"
    )


def _rate_label(name: str | None, percentage: str | None) -> str:
    if percentage in (None, ""):
        return name or "tax"
    number = Decimal(str(percentage)).normalize()
    return f"{name or 'tax'} {number:f}%"


def _as_date(value: Any) -> date:
    # PostgreSQL answers dates; SQLite's TruncDate answers ISO strings in raw SQL.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def period_summary(export_filter: ExportFilter) -> list[SummaryRow]:
    """The summary rows of the CDRs the filter selects (credits always included), by day, then
    location, then currency. Four queries, whatever the number of CDRs."""
    cdrs = _summary_queryset(export_filter)
    signed = Case(When(credit=True, then=Value(-1)), default=Value(1))
    main = cdrs.values("s_day", "s_location", "currency").annotate(
        sessions=Sum(signed),
        energy=Sum(_scaled(Case(When(credit=True, then=-F("total_energy")), default=F("total_energy")))),
        excl=Sum(_scaled(F("total_cost_excl_vat"))),
        incl=Sum(_scaled(F("total_cost_incl_vat"))),
        card_incl=Sum(_scaled(F("total_cost_incl_vat")), filter=_card()),
    )
    rows: dict[tuple[date, str, str], SummaryRow] = {}
    for group in main:
        key = (_as_date(group["s_day"]), group["s_location"] or "", group["currency"])
        rows[key] = SummaryRow(
            day=key[0],
            location_id=key[1],
            currency=key[2],
            sessions=int(group["sessions"] or 0),
            energy_kwh=_unscaled(group["energy"], places=Decimal("0.0001")),
            revenue_excl_vat=_unscaled(group["excl"]),
            revenue_incl_vat=_unscaled(group["incl"]),
            card_billed_incl_vat=_unscaled(group["card_incl"]),
        )
    for group in _captured_per_group(cdrs):
        key = (_as_date(group["s_day"]), group["s_location"] or "", group["currency"])
        if key in rows:
            rows[key].captured_incl_vat = _unscaled(group["captured"])
    taxed = cdrs.values("s_day", "s_location", "currency", "total_cost_taxes")
    inner_sql, params = taxed.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_taxes_sql(inner_sql), params)
        for day, location_id, currency, name, percentage, amount in cursor.fetchall():
            key = (_as_date(day), location_id or "", currency)
            if key in rows:
                label = _rate_label(name, percentage)
                per_rate = rows[key].taxes_per_rate
                per_rate[label] = per_rate.get(label, Decimal(0)) + _unscaled(amount)
    names = dict(
        Location.objects.filter(location_id__in={key[1] for key in rows}).values_list("location_id", "name")
    )
    for row in rows.values():
        row.location_name = names.get(row.location_id, "")
    return [rows[key] for key in sorted(rows)]


@dataclass(frozen=True, kw_only=True)
class CurrencyTotals:
    currency: str
    sessions: int
    energy_kwh: Decimal
    revenue_excl_vat: Decimal
    taxes: Decimal
    revenue_incl_vat: Decimal
    taxes_per_rate: dict[str, Decimal]
    captured_incl_vat: Decimal
    difference: Decimal


def summary_totals(rows: Iterable[SummaryRow]) -> list[CurrencyTotals]:
    """The rows added up per currency (never across currencies)."""
    by_currency: dict[str, list[SummaryRow]] = {}
    for row in rows:
        by_currency.setdefault(row.currency, []).append(row)
    totals = []
    for currency, group in sorted(by_currency.items()):
        per_rate: dict[str, Decimal] = {}
        for row in group:
            for label, amount in row.taxes_per_rate.items():
                per_rate[label] = per_rate.get(label, Decimal(0)) + amount
        totals.append(
            CurrencyTotals(
                currency=currency,
                sessions=sum(row.sessions for row in group),
                energy_kwh=sum((row.energy_kwh for row in group), Decimal(0)),
                revenue_excl_vat=sum((row.revenue_excl_vat for row in group), Decimal(0)),
                taxes=sum((row.taxes for row in group), Decimal(0)),
                revenue_incl_vat=sum((row.revenue_incl_vat for row in group), Decimal(0)),
                taxes_per_rate=per_rate,
                captured_incl_vat=sum((row.captured_incl_vat for row in group), Decimal(0)),
                difference=sum((row.difference for row in group), Decimal(0)),
            )
        )
    return totals


def tax_rate_labels(rows: Iterable[SummaryRow]) -> list[str]:
    """Every tax rate that occurs, in a stable order: one column each."""
    return sorted({label for row in rows for label in row.taxes_per_rate})


# -- files --------------------------------------------------------------------------------------------

# (name, kind) of the fixed columns; one "tax <name> <rate>%" amount column per rate follows.
SUMMARY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("date", "date"),
    ("location_id", "text"),
    ("location_name", "text"),
    ("currency", "text"),
    ("sessions", "integer"),
    ("energy_kwh", "number"),
    ("revenue_excl_vat", "amount"),
    ("taxes", "amount"),
    ("revenue_incl_vat", "amount"),
    ("captured_incl_vat", "amount"),
    ("card_billed_incl_vat", "amount"),
    ("difference", "amount"),
)


def summary_header(rates: list[str]) -> list[str]:
    return [name for name, _ in SUMMARY_COLUMNS] + [f"tax {label}" for label in rates]


def summary_cells(row: SummaryRow, rates: list[str]) -> list[Any]:
    return [
        row.day,
        row.location_id,
        row.location_name,
        row.currency,
        row.sessions,
        row.energy_kwh,
        row.revenue_excl_vat,
        row.taxes,
        row.revenue_incl_vat,
        row.captured_incl_vat,
        row.card_billed_incl_vat,
        row.difference,
        *(row.taxes_per_rate.get(label, Decimal(0)) for label in rates),
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_text(value: Any) -> str:
    text = str(value)
    # A location name a spreadsheet would run as a formula (CSV injection) is kept as text.
    return f"'{text}" if text[:1] in "=+-@\t\r" and not isinstance(value, Decimal | int) else text


def summary_csv_lines(rows: list[SummaryRow]) -> Iterator[str]:
    rates = tax_rate_labels(rows)
    writer = csv.writer(_Echo())
    yield writer.writerow(summary_header(rates))
    for row in rows:
        cells = summary_cells(row, rates)
        yield writer.writerow(
            [f"{cell:f}" if isinstance(cell, Decimal) else _csv_text(cell) for cell in cells]
        )


def write_summary_xlsx(rows: list[SummaryRow], target: IO[bytes]) -> None:
    """A "Summary" sheet: dates as dates, amounts as numbers with two decimals."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    rates = tax_rate_labels(rows)
    kinds = [kind for _, kind in SUMMARY_COLUMNS] + ["amount"] * len(rates)
    formats = {"date": "yyyy-mm-dd", "amount": "#,##0.00", "number": "0.0000"}
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Summary")
    sheet.append(summary_header(rates))
    for row in rows:
        cells: list[Any] = []
        for kind, value in zip(kinds, summary_cells(row, rates), strict=True):
            if kind in formats:
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = formats[kind]
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    workbook.save(target)
