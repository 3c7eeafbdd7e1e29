"""CDR exports for invoicing and accounting: one set of rows, written as CSV, XLSX or OCPI JSON lines.

Every export reads the database in chunks (``iterator(chunk_size=...)``) and writes row by row, so
its memory does not grow with the number of CDRs: CSV and JSON lines are generated as the response
is sent; XLSX uses openpyxl's write-only mode, which keeps rows in a temporary file, not in memory.
The columns are documented in the README ("Finance"); their names and order are part of the format.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, When
from django.utils.text import slugify

from finance.selectors import chain_facts_for
from locations.models import Location
from ocpi_api.formatting import dumps
from ocpi_api.modules.cdrs import serialize_cdr
from payments.models import PaymentTerminal
from sessions.models import Cdr

CHUNK_SIZE = 2000
_DIMENSIONS = ("fixed", "energy", "time", "parking", "reservation")
# Permission that shows token uids in full; everyone else sees them masked.
UNMASK_PERMISSION = "finance.view_token_uid"
EXPORT_PERMISSION = "finance.export_cdrs"
# The version of the CDR objects in JSON lines exports (both versions' CDR objects differ little).
OCPI_VERSION = "2.2.1"


class Format:
    CSV = "csv"
    XLSX = "xlsx"
    JSONL = "jsonl"

    choices = ((CSV, "CSV"), (XLSX, "Excel (XLSX)"), (JSONL, "OCPI JSON, one CDR per line"))
    content_types = {
        CSV: "text/csv; charset=utf-8",
        XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        JSONL: "application/x-ndjson",
    }


class Credits:
    ALL = "all"
    EXCLUDE = "exclude"
    ONLY = "only"

    choices = ((ALL, "CDRs and credits"), (EXCLUDE, "Without credit CDRs"), (ONLY, "Credit CDRs only"))


# (name, kind): kind tells the XLSX writer how to type the cell (text, amount, number, datetime).
COLUMNS: tuple[tuple[str, str], ...] = (
    ("cdr_id", "text"),
    ("party", "text"),
    ("partner", "text"),
    ("session_id", "text"),
    ("start_utc", "datetime"),
    ("end_utc", "datetime"),
    ("start_local", "datetime"),
    ("end_local", "datetime"),
    ("time_zone", "text"),
    ("location_id", "text"),
    ("evse_uid", "text"),
    ("evse_id", "text"),
    ("connector_id", "text"),
    ("address", "text"),
    ("postal_code", "text"),
    ("city", "text"),
    ("country", "text"),
    ("energy_kwh", "number"),
    ("charging_time_h", "number"),
    ("parking_time_h", "number"),
    ("tariff_ids", "text"),
    ("energy_cost_excl_vat", "amount"),
    ("time_cost_excl_vat", "amount"),
    ("parking_cost_excl_vat", "amount"),
    ("fixed_cost_excl_vat", "amount"),
    ("reservation_cost_excl_vat", "amount"),
    ("total_excl_vat", "amount"),
    ("tax_rates", "text"),
    ("tax_amounts", "text"),
    ("total_taxes", "amount"),
    ("total_incl_vat", "amount"),
    ("currency", "text"),
    ("token_type", "text"),
    ("token_uid", "text"),
    ("authorization_reference", "text"),
    ("terminal_id", "text"),
    ("invoice_reference_id", "text"),
    ("credit", "text"),
    ("credited_cdr_id", "text"),
    ("chain_role", "text"),
    ("capture_status", "text"),
    ("captured_incl_vat", "amount"),
    ("chain_net_incl_vat", "amount"),
    ("difference", "amount"),
    ("reconciliation_status", "text"),
    ("eft_data", "text"),
)
HEADER = [name for name, _ in COLUMNS]


@dataclass(frozen=True, kw_only=True)
class ExportFilter:
    """What an export holds. Dates are whole days in ``time_zone``; ``date_to`` is included."""

    date_from: date | None = None
    date_to: date | None = None
    time_zone: str = "UTC"
    party: str = ""  # "NL*CPO"
    partner_id: int | None = None
    location_id: str = ""
    currency: str = ""
    credits: str = Credits.ALL

    def describe(self) -> str:
        """A file name stem that says what the file holds."""
        parts = [
            f"{self.date_from or 'start'}_{self.date_to or 'now'}",
            self.time_zone.replace("/", "-"),
            self.party.replace("*", ""),
            f"partner{self.partner_id}" if self.partner_id else "",
            self.location_id,
            self.currency,
            "" if self.credits == Credits.ALL else f"credits-{self.credits}",
        ]
        return slugify("_".join(part for part in parts if part))


def filtered_cdrs(export_filter: ExportFilter, queryset: QuerySet[Cdr] | None = None) -> QuerySet[Cdr]:
    """The CDRs an export filter selects (end of the session within the period, in its time zone)."""
    queryset = Cdr.objects.all() if queryset is None else queryset
    zone = ZoneInfo(export_filter.time_zone)
    if export_filter.date_from:
        queryset = queryset.filter(end_date_time__gte=datetime.combine(export_filter.date_from, time(), zone))
    if export_filter.date_to:
        day_after = export_filter.date_to + timedelta(days=1)
        queryset = queryset.filter(end_date_time__lt=datetime.combine(day_after, time(), zone))
    if export_filter.party:
        country_code, _, party_id = export_filter.party.partition("*")
        queryset = queryset.filter(party__country_code=country_code, party__party_id=party_id)
    if export_filter.partner_id:
        queryset = queryset.filter(partner_id=export_filter.partner_id)
    if export_filter.location_id:
        queryset = queryset.filter(cdr_location__id=export_filter.location_id)
    if export_filter.currency:
        queryset = queryset.filter(currency=export_filter.currency)
    if export_filter.credits == Credits.EXCLUDE:
        queryset = queryset.filter(Q(credit=False) | Q(credit__isnull=True))
    elif export_filter.credits == Credits.ONLY:
        queryset = queryset.filter(credit=True)
    return queryset


# The order of the reconciliation page: newest chains first, a chain's CDRs in the order made.
SCREEN_ORDER = ("-chain_end", "-chain_root", "pk")


def _screen_ordered(queryset: QuerySet[Cdr]) -> QuerySet[Cdr]:
    if queryset.query.order_by:
        return queryset  # the order of the list it comes from
    chain = Cdr.objects.filter(
        partner=OuterRef("partner"), authorization_reference=OuterRef("authorization_reference")
    ).order_by("pk")
    card = ~Q(authorization_reference="") & Q(partner__isnull=False)
    return queryset.annotate(
        chain_root=Case(When(card, then=Subquery(chain.values("pk")[:1])), default=F("pk")),
        chain_end=Case(
            When(card, then=Subquery(chain.values("end_date_time")[:1])), default=F("end_date_time")
        ),
    ).order_by(*SCREEN_ORDER)


@contextmanager
def _without_jit() -> Iterator[None]:
    # The ordering query is many cheap index lookups that the planner costs high: PostgreSQL's JIT
    # would compile it for seconds to save milliseconds (measured in benchmarks/export_cdrs.py).
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET jit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET jit")


def _ordered_id_chunks(queryset: QuerySet[Cdr]) -> Iterator[list[int]]:
    """The ids in the screen's order, CHUNK_SIZE at a time, read as a stream."""
    with _without_jit():
        ids = _screen_ordered(queryset).values_list("pk", flat=True).iterator(chunk_size=CHUNK_SIZE)
        while chunk := list(islice(ids, CHUNK_SIZE)):
            yield chunk


def cdr_chunks(queryset: QuerySet[Cdr]) -> Iterator[list[Cdr]]:
    """The CDRs as model instances (for serialize_cdr), one query per chunk."""
    loader = Cdr.objects.select_related("party", "session")
    for chunk in _ordered_id_chunks(queryset):
        loaded = loader.in_bulk(chunk)
        yield [loaded[pk] for pk in chunk if pk in loaded]


# What a row needs, read as named tuples: building model instances cost more than the rest of a row.
_ROW_FIELDS = (
    "pk",
    "cdr_id",
    "party_id",
    "party__country_code",
    "party__party_id",
    "partner_id",
    "partner__name",
    "session__session_id",
    "session__evse_id",
    "session__location_id",
    "start_date_time",
    "end_date_time",
    "cdr_location",
    "total_energy",
    "total_time",
    "total_parking_time",
    "tariffs",
    "total_energy_cost_excl_vat",
    "total_time_cost_excl_vat",
    "total_parking_cost_excl_vat",
    "total_fixed_cost_excl_vat",
    "total_reservation_cost_excl_vat",
    "total_cost_excl_vat",
    "total_cost_taxes",
    "total_cost_incl_vat",
    "currency",
    "token_type",
    "token_uid",
    "authorization_reference",
    "invoice_reference_id",
    "credit",
    "credit_reference_id",
)


def _row_chunks(queryset: QuerySet[Cdr]) -> Iterator[list[Any]]:
    loader = Cdr.objects.order_by().values_list(*_ROW_FIELDS, named=True)
    for chunk in _ordered_id_chunks(queryset):
        loaded = {row.pk: row for row in loader.filter(pk__in=chunk)}
        yield [loaded[pk] for pk in chunk if pk in loaded]


def _terminals() -> tuple[dict[int, str], dict[int, str]]:
    """Terminal ids by EVSE and by location (the EVSE's own terminal wins): a few hundred rows."""
    by_evse: dict[int, str] = {}
    by_location: dict[int, str] = {}
    for terminal_id, evse_id, location_id in PaymentTerminal.objects.order_by("-terminal_id").values_list(
        "terminal_id", "evses", "locations"
    ):
        if evse_id is not None:
            by_evse[evse_id] = terminal_id
        if location_id is not None:
            by_location[location_id] = terminal_id
    return by_evse, by_location


def mask_uid(uid: str) -> str:
    """All but the last four characters hidden: enough to recognise a card, not to reuse it."""
    return "*" * max(len(uid) - 4, 0) + uid[-4:]


def _taxes(lines: list[dict[str, Any]]) -> tuple[str, str, Decimal]:
    rates = "; ".join(f"{line.get('name', 'tax')} {line.get('percentage', '?')}%" for line in lines)
    amounts = "; ".join(str(line.get("amount")) for line in lines)
    return rates, amounts, sum((Decimal(str(line.get("amount", 0))) for line in lines), Decimal(0))


def _cent(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))


def export_rows(queryset: QuerySet[Cdr], *, unmask: bool = False) -> Iterator[list[Any]]:
    """One typed row per CDR (str, Decimal, datetime or None), in the order of ``COLUMNS``."""
    by_evse, by_location = _terminals()
    zones = {pk: ZoneInfo(name or "UTC") for pk, name in Location.objects.values_list("pk", "time_zone")}
    utc = ZoneInfo("UTC")
    for chunk in _row_chunks(queryset):
        facts = chain_facts_for(chunk)
        for cdr in chunk:
            chain = facts[cdr.pk]
            zone = zones.get(cdr.session__location_id, utc)
            terminal_id = by_evse.get(cdr.session__evse_id) or by_location.get(cdr.session__location_id)
            where = cdr.cdr_location
            rates, amounts, tax_total = _taxes(cdr.total_cost_taxes or [])
            if cdr.total_cost_incl_vat is not None and not cdr.total_cost_taxes:
                tax_total = cdr.total_cost_incl_vat - cdr.total_cost_excl_vat
            yield [
                cdr.cdr_id,
                f"{cdr.party__country_code}*{cdr.party__party_id}",
                cdr.partner__name or "",
                cdr.session__session_id or "",
                cdr.start_date_time,
                cdr.end_date_time,
                cdr.start_date_time.astimezone(zone),
                cdr.end_date_time.astimezone(zone),
                str(zone),
                str(where.get("id", "")),
                str(where.get("evse_uid", "")),
                str(where.get("evse_id", "")),
                str(where.get("connector_id", "")),
                str(where.get("address", "")),
                str(where.get("postal_code", "")),
                str(where.get("city", "")),
                str(where.get("country", "")),
                cdr.total_energy,
                cdr.total_time,
                cdr.total_parking_time,
                " ".join(str(tariff.get("id", "")) for tariff in cdr.tariffs or []),
                _cent(cdr.total_energy_cost_excl_vat),
                _cent(cdr.total_time_cost_excl_vat),
                _cent(cdr.total_parking_cost_excl_vat),
                _cent(cdr.total_fixed_cost_excl_vat),
                _cent(cdr.total_reservation_cost_excl_vat),
                _cent(cdr.total_cost_excl_vat),
                rates,
                amounts,
                _cent(tax_total),
                _cent(cdr.total_cost_incl_vat),
                cdr.currency,
                cdr.token_type,
                cdr.token_uid if unmask else mask_uid(cdr.token_uid),
                cdr.authorization_reference,
                terminal_id or "",
                cdr.invoice_reference_id,
                "yes" if cdr.credit else "no",
                cdr.credit_reference_id,
                chain.role,
                chain.capture_status,
                _cent(chain.captured),
                _cent(chain.billed),
                _cent(chain.difference),
                chain.status,
                " | ".join(chain.eft_data),
            ]


# -- writers ---------------------------------------------------------------------------------------------


class _Echo:
    """A file-like sink for csv.writer that hands each line back instead of buffering it."""

    def write(self, value: str) -> str:
        return value


def _csv_plain(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    # Neutralise text a spreadsheet would run as a formula (CSV injection); numbers are not text.
    return f"'{text}" if text[:1] in _FORMULA_STARTS else text


def _csv_number(value: Decimal | None) -> str:
    return "" if value is None else f"{value:f}"


def _csv_datetime(value: datetime | None) -> str:
    return "" if value is None else value.isoformat().replace("+00:00", "Z")


_FORMULA_STARTS = frozenset("=+-@\t\r")
_CSV_CELL = {"text": _csv_plain, "amount": _csv_number, "number": _csv_number, "datetime": _csv_datetime}


def csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    cells = [_CSV_CELL[kind] for _, kind in COLUMNS]
    yield writer.writerow(HEADER)
    for row in rows:
        yield writer.writerow([cell(value) for cell, value in zip(cells, row, strict=True)])


_CURRENCY_FORMAT = "#,##0.00"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"


def write_xlsx(rows: Iterable[list[Any]], target: IO[bytes]) -> None:
    """Write-only workbook: amounts are numbers with a two-decimal format, dates are dates."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("CDRs")
    sheet.append(HEADER)
    kinds = [kind for _, kind in COLUMNS]
    for row in rows:
        cells: list[Any] = []
        for kind, value in zip(kinds, row, strict=True):
            if value is None:
                cells.append(None)
            elif kind == "datetime":
                # Excel has no time zones: the wall-clock time of the column's zone (see its name).
                cell = WriteOnlyCell(sheet, value=value.replace(tzinfo=None))
                cell.number_format = _DATETIME_FORMAT
                cells.append(cell)
            elif kind == "amount":
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = _CURRENCY_FORMAT
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    workbook.save(target)


def xlsx_file(rows: Iterable[list[Any]]) -> IO[bytes]:
    """The workbook in a temporary file (deleted when closed), rewound for reading."""
    target = tempfile.TemporaryFile()  # noqa: SIM115 - the response closes it
    write_xlsx(rows, target)
    target.seek(0)
    return target


def ocpi_json_lines(
    queryset: QuerySet[Cdr], *, unmask: bool = False, version: str = OCPI_VERSION
) -> Iterator[str]:
    """Each CDR as it is POSTed to a partner (serialize_cdr, the push and GET body; mod_cdrs CDR
    object), one per line, in the screen's order; the token uid masked unless ``unmask``."""
    for chunk in cdr_chunks(queryset):
        for cdr in chunk:
            body = serialize_cdr(cdr, version)
            if not unmask:
                body["cdr_token"] = {**body["cdr_token"], "uid": mask_uid(cdr.token_uid)}
            yield dumps(body) + "\n"


def stream(
    *, export_format: str, queryset: QuerySet[Cdr], unmask: bool
) -> tuple[Iterator[bytes] | IO[bytes], str]:
    """The body (an iterator of bytes, or an open file for XLSX) and its content type."""
    body: Iterator[bytes] | IO[bytes]
    if export_format == Format.CSV:
        body = (line.encode() for line in csv_lines(export_rows(queryset, unmask=unmask)))
    elif export_format == Format.XLSX:
        body = xlsx_file(export_rows(queryset, unmask=unmask))
    elif export_format == Format.JSONL:
        body = (line.encode() for line in ocpi_json_lines(queryset, unmask=unmask))
    else:
        raise ValueError(f"Unknown export format {export_format!r}.")
    return body, Format.content_types[export_format]


def filename(*, stem: str, export_format: str) -> str:
    return f"cdrs_{stem or 'all'}.{export_format}"


__all__ = [
    "COLUMNS",
    "EXPORT_PERMISSION",
    "HEADER",
    "UNMASK_PERMISSION",
    "Credits",
    "ExportFilter",
    "Format",
    "export_rows",
    "filename",
    "filtered_cdrs",
    "mask_uid",
    "stream",
]
