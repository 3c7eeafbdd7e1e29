"""CDR exports for invoicing and accounting: one set of rows, written as CSV, XLSX or OCPI JSON lines.

Every export streams the ids in order from one query and reads the rows in chunks, so its memory
does not grow with the number of CDRs: CSV and JSON lines are generated as the response is sent; the
XLSX sheet is written as a stream into a compressed temporary file (see write_xlsx). The same SQL
runs on PostgreSQL and SQLite; on PostgreSQL a CSV is written by the database itself from the same
rules (csv_body(), finance.export_queries), byte for byte the CSV of export_rows(). The columns are
documented in the README ("Finance"); their names and order are part of the format.

Public: stream(), csv_body(), filtered_cdrs() and ExportFilter, export_rows(), csv_blocks(),
csv_lines(), write_xlsx(), xlsx_file(), ocpi_json_lines(), filename(), mask_uid(), COLUMNS/HEADER.
"""

from __future__ import annotations

import csv
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import BooleanField, Case, F, OuterRef, Q, QuerySet, Subquery, TextField, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils.text import slugify

from finance.export_queries import SCREEN_ORDER, copy_csv_rows, planner_settings, screen_order_sql
from finance.selectors import ChainIndex, chain_index
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


def _screen_ordered(queryset: QuerySet[Cdr]) -> QuerySet[Cdr]:
    """The queryset in the screen's order, through the ORM (correlated subqueries per row): the
    reference for export_queries.screen_order_sql(), which gives the same order in one join."""
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


def _ordered_id_chunks(queryset: QuerySet[Cdr]) -> Iterator[list[int]]:
    """The ids in the screen's order (or the list's own), CHUNK_SIZE at a time, read as a stream."""
    for chunk, _chained in _ordered_chunks(queryset):
        yield chunk


def _ordered_chunks(queryset: QuerySet[Cdr]) -> Iterator[tuple[list[int], list[int] | None]]:
    """The ids in order, CHUNK_SIZE at a time, each chunk with the ids of its CDRs whose chain has other
    CDRs (None when the list's own order does not tell: every chain is then read)."""
    order = tuple(queryset.query.order_by)
    if order and order != SCREEN_ORDER:
        with planner_settings():
            ids = queryset.values_list("pk", flat=True).iterator(chunk_size=CHUNK_SIZE)
            while chunk := list(islice(ids, CHUNK_SIZE)):
                yield chunk, None
        return
    try:
        sql, params = screen_order_sql(queryset)
    except EmptyResultSet:
        return  # a filter that can match nothing (an empty selection)
    # A server-side cursor on PostgreSQL (as QuerySet.iterator() uses), so the ids stream.
    chunked = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    cursor = connection.chunked_cursor() if chunked else connection.cursor()
    with planner_settings(), cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK_SIZE):
            yield [row[0] for row in rows], [row[0] for row in rows if row[1] is not None]


def _ids(chunk: list[int], column: str = "id") -> RawSQL:
    """``column IN (…)`` with the ids written into the SQL: they are integers from our own query, and
    2,000 of them as parameters cost more to bind (psycopg splits the query at each one) than the
    chunk's rows cost to read. Unqualified ``id`` names the table of the query it is used in (a
    subquery's own table)."""
    listed = ",".join(str(int(pk)) for pk in chunk)
    return RawSQL(f"{column} IN ({listed})", (), output_field=BooleanField())  # noqa: S611 - integers only


def _chunk(chunk: list[int]) -> QuerySet[Cdr]:
    return Cdr.objects.filter(_ids(chunk)).order_by()


def cdr_chunks(queryset: QuerySet[Cdr]) -> Iterator[list[Cdr]]:
    """The CDRs as model instances (for serialize_cdr), one query per chunk."""
    qualified = f"{connection.ops.quote_name(Cdr._meta.db_table)}.id"
    loader = Cdr.objects.select_related("party", "session").order_by()
    for chunk in _ordered_id_chunks(queryset):
        loaded = {cdr.pk: cdr for cdr in loader.filter(_ids(chunk, qualified))}
        yield [loaded[pk] for pk in chunk if pk in loaded]


# What a row needs, read as tuples: building model instances cost more than the rest of a row. The
# JSON snapshots are read as their text: parsed once per distinct text (a location's snapshot is
# the same for every session at its connector), see _Parsed. Times are read as text and parsed by
# datetime.fromisoformat(): the PostgreSQL backend's time zone aware loader is Python code that cost
# more per row than writing the whole CSV line (SQLite stores the text itself).
_ROW_FIELDS = (
    "pk",
    "cdr_id",
    "party__country_code",
    "party__party_id",
    "partner__name",
    "session__session_id",
    "session__evse_id",
    "session__location_id",
    "start_text",
    "end_text",
    "location_text",
    "total_energy",
    "total_time",
    "total_parking_time",
    "tariffs_text",
    "total_energy_cost_excl_vat",
    "total_time_cost_excl_vat",
    "total_parking_cost_excl_vat",
    "total_fixed_cost_excl_vat",
    "total_reservation_cost_excl_vat",
    "total_cost_excl_vat",
    "taxes_text",
    "total_cost_incl_vat",
    "currency",
    "token_type",
    "token_uid",
    "authorization_reference",
    "invoice_reference_id",
    "credit",
    "credit_reference_id",
    "party_id",
    "partner_id",
)
_LOCATION_KEYS = ("id", "evse_uid", "evse_id", "connector_id", "address", "postal_code", "city", "country")


def _row_chunks(queryset: QuerySet[Cdr]) -> Iterator[tuple[list[tuple[Any, ...]], ChainIndex]]:
    """Each chunk's rows in order, with the chains and captures they belong to: at most four queries a
    chunk (rows, the other CDRs of chains of more than one, captures, and credits of CDRs outside
    card chains when there are such)."""
    qualified = f"{connection.ops.quote_name(Cdr._meta.db_table)}.id"
    loader = (
        Cdr.objects.order_by()
        .annotate(
            start_text=Cast("start_date_time", TextField()),
            end_text=Cast("end_date_time", TextField()),
            location_text=Cast("cdr_location", TextField()),
            tariffs_text=Cast("tariffs", TextField()),
            taxes_text=Cast("total_cost_taxes", TextField()),
        )
        .values_list(*_ROW_FIELDS)
    )
    for chunk, chained in _ordered_chunks(queryset):
        loaded = {row[0]: row for row in loader.filter(_ids(chunk, qualified))}
        rows = [loaded[pk] for pk in chunk if pk in loaded]
        outside_chains = any(not row[26] or row[31] is None for row in rows)
        yield (
            rows,
            chain_index(
                _chunk(chunk),
                chained=None if chained is None else _chunk(chained) if chained else Cdr.objects.none(),
                outside_chains=outside_chains,
            ),
        )


class _Parsed:
    """Results of parsing JSON snapshot text, by text; emptied when it grows past ``size`` entries, so
    an export of any length holds at most that many."""

    def __init__(self, parse: Any, size: int = 4096) -> None:
        self._parse = parse
        self._size = size
        self._seen: dict[str | None, Any] = {}

    def __call__(self, text: str | None) -> Any:
        seen = self._seen
        if text in seen:
            return seen[text]
        if len(seen) >= self._size:
            seen.clear()
        value = seen[text] = self._parse(text)
        return value


def _location_cells(text: str | None) -> tuple[str, ...]:
    where = json.loads(text) if text else {}
    if not isinstance(where, dict):
        where = {}
    return tuple("" if where.get(key) is None else str(where[key]) for key in _LOCATION_KEYS)


def _tariff_ids(text: str | None) -> str:
    tariffs = json.loads(text) if text else []
    if not isinstance(tariffs, list):
        return ""
    return " ".join(str(tariff.get("id", "")) for tariff in tariffs if isinstance(tariff, dict))


def _utc(text: str) -> datetime:
    """A stored time read as text: ISO 8601 with the session's offset (PostgreSQL: UTC, ``+00``) or
    without one (SQLite keeps UTC without an offset)."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


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


def _taxes(lines: Any) -> tuple[str, str, Decimal]:
    """Each tax line's name and rate, its amount (``; `` separated) and their sum."""
    if not isinstance(lines, list) or not lines:
        return "", "", Decimal(0)
    if len(lines) == 1:  # the usual case, without the joins
        line = lines[0]
        amount = line.get("amount")
        return (
            f"{line.get('name', 'tax')} {line.get('percentage', '?')}%",
            str(amount),
            Decimal(str(line.get("amount", 0))),
        )
    rates = "; ".join(f"{line.get('name', 'tax')} {line.get('percentage', '?')}%" for line in lines)
    amounts = "; ".join(str(line.get("amount")) for line in lines)
    return rates, amounts, sum((Decimal(str(line.get("amount", 0))) for line in lines), Decimal(0))


_CENT_EXPONENT = Decimal("0.01")


def _cent(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(_CENT_EXPONENT)


def export_rows(queryset: QuerySet[Cdr], *, unmask: bool = False) -> Iterator[list[Any]]:
    """One typed row per CDR (str, Decimal, datetime or None), in the order of ``COLUMNS``: text
    cells are str (empty when unknown), amounts Decimals to the cent, times aware datetimes."""
    by_evse, by_location = _terminals()
    zones = {pk: ZoneInfo(name or "UTC") for pk, name in Location.objects.values_list("pk", "time_zone")}
    utc = ZoneInfo("UTC")  # a location without a time zone: its times in UTC, named "UTC"
    zone_names = {zone: str(zone) for zone in {utc, *zones.values()}}
    location_cells, tariff_ids = _Parsed(_location_cells), _Parsed(_tariff_ids)
    loads, quantize, cent, utc_of = json.loads, Decimal.quantize, _CENT_EXPONENT, _utc
    for rows, chains in _row_chunks(queryset):
        facts_of = chains.facts
        for (
            _pk, cdr_id, country_code, party_code, partner, session_id, evse_pk, location_pk,
            start_text, end_text,
            location_text, energy, charging_time, parking_time, tariffs_text,
            energy_cost, time_cost, parking_cost, fixed_cost, reservation_cost, total_excl,
            taxes_text, total_incl, currency, token_type, token_uid, authorization_reference,
            invoice_reference_id, credit, credit_reference_id, party_pk, partner_pk,
        ) in rows:  # fmt: skip
            zone = zones.get(location_pk, utc)
            start, end = utc_of(start_text), utc_of(end_text)
            # Numbers as Decimals: a rate keeps its written digits ("5.50"), as the database reads it.
            taxes = loads(taxes_text, parse_float=Decimal) if taxes_text else None
            rates, amounts, tax_total = _taxes(taxes)
            if total_incl is not None and not taxes:
                tax_total = total_incl - total_excl
            chain = facts_of(
                cdr_id=cdr_id,
                party_id=party_pk,
                partner_id=partner_pk,
                authorization_reference=authorization_reference,
                credit=bool(credit),
                total_cost_incl_vat=total_incl,
            )
            location_id, evse_uid, evse_id, connector_id, address, postal_code, city, country = (
                location_cells(location_text)
            )
            yield [
                cdr_id,
                f"{country_code}*{party_code}",
                partner or "",
                session_id or "",
                start,
                end,
                start.astimezone(zone),
                end.astimezone(zone),
                zone_names[zone],
                location_id,
                evse_uid,
                evse_id,
                connector_id,
                address,
                postal_code,
                city,
                country,
                energy,
                charging_time,
                parking_time,
                tariff_ids(tariffs_text),
                None if energy_cost is None else quantize(energy_cost, cent),
                None if time_cost is None else quantize(time_cost, cent),
                None if parking_cost is None else quantize(parking_cost, cent),
                None if fixed_cost is None else quantize(fixed_cost, cent),
                None if reservation_cost is None else quantize(reservation_cost, cent),
                quantize(total_excl, cent),
                rates,
                amounts,
                quantize(tax_total, cent),
                None if total_incl is None else quantize(total_incl, cent),
                currency,
                token_type,
                token_uid if unmask else mask_uid(token_uid),
                authorization_reference,
                by_evse.get(evse_pk) or by_location.get(location_pk) or "",
                invoice_reference_id,
                "yes" if credit else "no",
                credit_reference_id,
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


# Text a spreadsheet would run as a formula (CSV injection) gets a leading quote; numbers are not text.
_FORMULA_STARTS = frozenset("=+-@\t\r")


def _positions(*kinds: str) -> tuple[int, ...]:
    return tuple(index for index, (_, kind) in enumerate(COLUMNS) if kind in kinds)


_TEXTS, _NUMBERS, _AMOUNTS, _DATETIMES = (
    _positions("text"), _positions("number"), _positions("amount"), _positions("datetime")
)  # fmt: skip


def _csv_cells(row: list[Any]) -> list[str]:
    """A row's cells as the CSV writes them: plain notation for numbers and amounts, ISO 8601 for
    datetimes (UTC as ``Z``), text neutralised against formulas, empty for None; a loop per column
    kind, not a call per cell."""
    cells = list(row)
    starts = _FORMULA_STARTS
    for index in _TEXTS:
        value = cells[index]
        if value.__class__ is not str:
            value = cells[index] = "" if value is None else str(value)
        if value[:1] in starts:
            cells[index] = f"'{value}"
    for index in _AMOUNTS:  # Decimals to the cent: str() is their plain notation
        value = cells[index]
        if value is None:
            cells[index] = ""
        else:
            value = cells[index] = str(value)
            if value == "-0.00":  # less than half a cent below zero, rounded: nothing
                cells[index] = "0.00"
    for index in _NUMBERS:
        value = cells[index]
        cells[index] = "" if value is None else f"{value:f}"
    for index in _DATETIMES:
        value = cells[index]
        if value is None:
            cells[index] = ""
        else:
            value = value.isoformat()
            cells[index] = value[:-6] + "Z" if value.endswith("+00:00") else value
    return cells


_SEPARATORS = len(COLUMNS) - 1


def _csv_line(cells: list[str], writer: Any) -> str:
    """The line csv.writer would write: joined as they are when no cell needs quoting (no comma, quote
    or line break in any cell, so exactly one comma between cells), else quoted by the writer."""
    line = ",".join(cells)
    if line.count(",") == _SEPARATORS and '"' not in line and "\n" not in line and "\r" not in line:
        return line + "\r\n"
    return writer.writerow(cells)


def csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    """The header and one CSV line per row of export_rows()."""
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for row in rows:
        yield _csv_line(_csv_cells(row), writer)


def csv_blocks(rows: Iterable[list[Any]], *, rows_per_block: int = CHUNK_SIZE) -> Iterator[str]:
    """The same CSV as csv_lines(), handed on ``rows_per_block`` rows at a time (a response sends a
    few hundred large pieces rather than a line each)."""
    writer = csv.writer(_Echo())
    rows = iter(rows)
    header = writer.writerow(HEADER)
    while block := list(islice(rows, rows_per_block)):
        yield header + "".join([_csv_line(_csv_cells(row), writer) for row in block])
        header = ""
    if header:
        yield header  # an export without rows


def csv_body(
    queryset: QuerySet[Cdr], *, unmask: bool, on_rows: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The CSV of ``queryset`` as bytes, the header first, CHUNK_SIZE rows a piece; ``on_rows`` is told
    how many rows each piece holds. On PostgreSQL the database writes the lines (COPY, see
    export_queries.copy_csv_rows()); elsewhere csv_blocks() writes them from export_rows(). The bytes
    are the same either way. Until the last piece the COPY holds the connection: neither ``on_rows``
    nor the consumer of the pieces may run a query on it."""
    header = ",".join(HEADER).encode() + b"\r\n"  # plain names: nothing to quote
    if connection.vendor == "postgresql":
        yield header
        try:
            yield from copy_csv_rows(queryset, unmask=unmask, rows_per_block=CHUNK_SIZE, on_rows=on_rows)
        except EmptyResultSet:
            return  # a filter that can match nothing (an empty selection)
        return
    rows = export_rows(queryset, unmask=unmask)
    for block in csv_blocks(rows if on_rows is None else _counted(rows, on_rows)):
        yield block.encode()


def _counted(rows: Iterable[list[Any]], on_rows: Callable[[int], None]) -> Iterator[list[Any]]:
    for row in rows:
        yield row
        on_rows(1)


# -- XLSX: SpreadsheetML (ECMA-376 Part 1, §18.3 Worksheets) written as a stream -------------------------
# openpyxl's write-only mode builds a cell object and an XML element per value: about 150 to 600 rows/s
# for these 46 columns, against 5,000 wanted. The sheet is plain XML, so it is written here row by row
# into a zip member that is compressed as it is written (constant memory): text as inline strings (no
# shared-string table to hold), amounts and dates as numbers with a number format (styles.xml). Cells
# carry no reference (``r`` is optional, §18.3.1.4): each row writes all its cells, empty ones as <c/>.
_CURRENCY_FORMAT = "#,##0.00"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        f'<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
        f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
        '<sheets><sheet name="CDRs" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
        f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/>'
        "</Relationships>"
    ),
    # Cell formats: 0 plain, 1 amount (numFmt 164), 2 date and time (numFmt 165).
    "xl/styles.xml": (
        f'<styleSheet xmlns="{_MAIN}">'
        f'<numFmts count="2"><numFmt numFmtId="164" formatCode="{_CURRENCY_FORMAT}"/>'
        f'<numFmt numFmtId="165" formatCode="{_DATETIME_FORMAT}"/></numFmts>'
        '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    ),
}
# XML 1.0 allows no control characters but tab, newline and carriage return: they are dropped.
_XML_TEXT = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
    | {chr(code): None for code in range(32) if chr(code) not in "\t\n\r"}
)
# Day 0 of the 1900 date system (serials from 61 on, 1 March 1900, are exact; a spreadsheet keeps
# milliseconds).
_EXCEL_EPOCH = datetime(1899, 12, 30)  # noqa: DTZ001 - a wall-clock origin: Excel has no time zones
_DAY = timedelta(days=1)
_EMPTY = "<c/>"


def _xlsx_text(value: str) -> str:
    # Printable text (no control characters, no spaces but " ") needs the three escapes at most, and
    # xml:space only when it starts or ends with a space; anything else takes the careful way.
    if value.isprintable() and value[0] != " " and value[-1] != " ":
        if "&" in value or "<" in value or ">" in value:
            value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f'<c t="inlineStr"><is><t>{value}</t></is></c>'
    return f'<c t="inlineStr"><is><t xml:space="preserve">{value.translate(_XML_TEXT)}</t></is></c>'


def _xlsx_row(row: list[Any]) -> str:
    """One <row> of export_rows() values: every cell written, empty ones as <c/>, without references;
    a loop per column kind, not a call per cell."""
    cells = list(row)
    for index in _TEXTS:
        value = cells[index]
        cells[index] = _xlsx_text(str(value)) if value else _EMPTY
    for index in _AMOUNTS:  # Decimals; to the cent from export_rows()
        value = cells[index]
        cells[index] = _EMPTY if value is None else f'<c s="1"><v>{value}</v></c>'
    for index in _NUMBERS:
        value = cells[index]
        cells[index] = _EMPTY if value is None else f"<c><v>{value}</v></c>"
    for index in _DATETIMES:
        value = cells[index]
        if value is None:
            cells[index] = _EMPTY
        else:
            # Excel has no time zones: the wall-clock time of the column's zone (see its name).
            serial = (value.replace(tzinfo=None) - _EXCEL_EPOCH) / _DAY
            cells[index] = f'<c s="2"><v>{serial!r}</v></c>'
    return f"<row>{''.join(cells)}</row>"


def write_xlsx(rows: Iterable[list[Any]], target: IO[bytes]) -> None:
    """A workbook with one sheet "CDRs": amounts are numbers with a two-decimal format, dates are
    dates; written as a stream (the sheet is compressed as it is written)."""
    # The fastest deflate level: a quarter larger, compressed several times faster.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        for name, xml in _XLSX_PARTS.items():
            package.writestr(name, _XML + xml)
        with package.open("xl/worksheets/sheet1.xml", "w") as sheet:
            header = "".join(_xlsx_text(name) for name in HEADER)
            sheet.write(f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData><row>{header}</row>'.encode())
            rows = iter(rows)
            while block := list(islice(rows, 500)):
                sheet.write("".join([_xlsx_row(row) for row in block]).encode())
            sheet.write(b"</sheetData></worksheet>")


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
        body = csv_body(queryset, unmask=unmask)
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
    "csv_blocks",
    "csv_body",
    "csv_lines",
    "export_rows",
    "filename",
    "filtered_cdrs",
    "mask_uid",
    "ocpi_json_lines",
    "stream",
    "write_xlsx",
    "xlsx_file",
]
