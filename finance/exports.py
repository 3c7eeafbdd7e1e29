"""CDR exports for invoicing and accounting: one set of rows, written as CSV, XLSX or OCPI JSON lines.

Every export reads the database in chunks (``iterator(chunk_size=...)``) and writes row by row, so
its memory does not grow with the number of CDRs: CSV and JSON lines are generated as the response
is sent; the XLSX sheet is written as a stream into a compressed temporary file (see write_xlsx).
The columns are documented in the README ("Finance"); their names and order are part of the format.
"""

from __future__ import annotations

import csv
import json
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import islice
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Case, F, OuterRef, Q, QuerySet, Subquery, When
from django.utils.text import slugify

from finance.selectors import chain_facts
from locations.models import Location
from ocpi_api.formatting import dumps
from ocpi_api.modules.cdrs import serialize_cdr
from partners.models import Partner, Party
from payments.models import FinancialAdviceConfirmation, PaymentTerminal
from sessions.models import Cdr, ChargingSession

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


# A chunk's rows, their chains and captures in one query (the ids as one array parameter). The JSON
# snapshots' few fields a row shows are read by PostgreSQL: decoding them in Python cost more than
# the rest of a row. Chains and captures are aggregated for the chunk's authorisations only, the
# latest capture winning as in finance.selectors._latest_capture(); chain_facts() applies the rules.
_CDR = Cdr._meta.db_table
_LOCATION_KEYS = ("id", "evse_uid", "evse_id", "connector_id", "address", "postal_code", "city", "country")
_ROWS_SQL = f"""
WITH chunk AS (
    SELECT c.id, c.partner_id, c.authorization_reference,
           (c.authorization_reference <> '' AND c.partner_id IS NOT NULL) AS card
    FROM {_CDR} c WHERE c.id = ANY(%(ids)s)
), chains AS (
    SELECT m.partner_id, m.authorization_reference, SUM(COALESCE(m.total_cost_incl_vat, 0)) AS net,
           bool_or(m.credit IS TRUE) AS has_credit,
           array_agg(m.credit_reference_id) FILTER (WHERE m.credit IS TRUE) AS credited
    FROM {_CDR} m
    WHERE m.partner_id IS NOT NULL
      AND m.authorization_reference IN (SELECT authorization_reference FROM chunk WHERE card)
    GROUP BY m.partner_id, m.authorization_reference
), captures AS (
    SELECT DISTINCT ON (f.partner_id, f.authorization_reference)
           f.partner_id, f.authorization_reference, f.capture_status_code, f.total_costs_incl_vat,
           f.eft_data::text AS eft_data
    FROM {FinancialAdviceConfirmation._meta.db_table} f
    WHERE f.authorization_reference IN (SELECT authorization_reference FROM chunk WHERE card)
    ORDER BY f.partner_id, f.authorization_reference, f.last_updated DESC, f.id DESC
)
SELECT c.id, c.cdr_id, p.country_code || '*' || p.party_id, COALESCE(pa.name, ''),
       COALESCE(s.session_id, ''), s.evse_id, s.location_id,
       c.start_date_time AT TIME ZONE 'UTC', c.end_date_time AT TIME ZONE 'UTC',
       {", ".join(f"COALESCE(c.cdr_location ->> '{key}', '')" for key in _LOCATION_KEYS)},
       c.total_energy, c.total_time, c.total_parking_time,
       CASE WHEN jsonb_typeof(c.tariffs) = 'array' THEN COALESCE((
           SELECT string_agg(COALESCE(t.tariff ->> 'id', ''), ' ' ORDER BY t.n)
           FROM jsonb_array_elements(c.tariffs) WITH ORDINALITY AS t(tariff, n)), '') ELSE '' END,
       c.total_energy_cost_excl_vat, c.total_time_cost_excl_vat, c.total_parking_cost_excl_vat,
       c.total_fixed_cost_excl_vat, c.total_reservation_cost_excl_vat, c.total_cost_excl_vat,
       c.total_cost_taxes::text, c.total_cost_incl_vat, c.currency, c.token_type, c.token_uid,
       c.authorization_reference, c.invoice_reference_id, c.credit IS TRUE, c.credit_reference_id,
       k.card, c.party_id, ch.net, COALESCE(ch.has_credit, FALSE),
       COALESCE(c.cdr_id = ANY(ch.credited), FALSE),
       cap.capture_status_code, cap.total_costs_incl_vat, cap.eft_data
FROM chunk k
JOIN {_CDR} c ON c.id = k.id
JOIN {Party._meta.db_table} p ON p.id = c.party_id
LEFT JOIN {Partner._meta.db_table} pa ON pa.id = c.partner_id
LEFT JOIN {ChargingSession._meta.db_table} s ON s.id = c.session_id
LEFT JOIN chains ch ON k.card AND ch.partner_id = c.partner_id
    AND ch.authorization_reference = c.authorization_reference
LEFT JOIN captures cap ON k.card AND cap.partner_id = c.partner_id
    AND cap.authorization_reference = c.authorization_reference
"""  # noqa: S608 - table names from our own models; the ids are a parameter


def _row_chunks(queryset: QuerySet[Cdr]) -> Iterator[tuple[list[tuple[Any, ...]], set[tuple[int, str]]]]:
    """Each chunk's rows in the screen's order, with the (party, cdr_id) of those credited outside
    a card chain (a query only when the chunk has CDRs that are not card payments)."""
    with connection.cursor() as cursor:
        for chunk in _ordered_id_chunks(queryset):
            cursor.execute(_ROWS_SQL, {"ids": chunk})
            loaded = {row[0]: row for row in cursor.fetchall()}
            rows = [loaded[pk] for pk in chunk if pk in loaded]
            alone = [row[1] for row in rows if not row[_CARD]]
            credited_alone = (
                set(
                    Cdr.objects.filter(credit=True, credit_reference_id__in=alone).values_list(
                        "party_id", "credit_reference_id"
                    )
                )
                if alone
                else set()
            )
            yield rows, credited_alone


_CARD = 36  # the position of "card" (k.card) in _ROWS_SQL's select list


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
    loads = json.loads
    for rows, credited_alone in _row_chunks(queryset):
        for (
            _pk, cdr_id, party, partner, session_id, evse_pk, location_pk, start, end,
            location_id, evse_uid, evse_id, connector_id, address, postal_code, city, country,
            energy, charging_time, parking_time, tariff_ids,
            energy_cost, time_cost, parking_cost, fixed_cost, reservation_cost, total_excl,
            taxes_json, total_incl, currency, token_type, token_uid, authorization_reference,
            invoice_reference_id, credit, credit_reference_id,
            card, party_pk, chain_net, chain_has_credit, credited_in_chain,
            capture_status, capture_amount, eft_json,
        ) in rows:  # fmt: skip
            zone = zones.get(location_pk, utc)
            start, end = start.replace(tzinfo=UTC), end.replace(tzinfo=UTC)  # read as UTC wall-clock
            taxes = loads(taxes_json) if taxes_json else None
            rates, amounts, tax_total = _taxes(taxes or [])
            if total_incl is not None and not taxes:
                tax_total = total_incl - total_excl
            chain = chain_facts(
                card=card,
                credit=credit,
                credited=credited_in_chain if card else (party_pk, cdr_id) in credited_alone,
                chain_has_credit=chain_has_credit,
                net=chain_net if card else total_incl,
                capture_status=capture_status,
                capture_amount=capture_amount,
                eft_data=(loads(eft_json) or []) if eft_json else [],
            )
            yield [
                cdr_id,
                party,
                partner,
                session_id,
                start,
                end,
                start.astimezone(zone),
                end.astimezone(zone),
                str(zone),
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
                tariff_ids,
                _cent(energy_cost),
                _cent(time_cost),
                _cent(parking_cost),
                _cent(fixed_cost),
                _cent(reservation_cost),
                _cent(total_excl),
                rates,
                amounts,
                _cent(tax_total),
                _cent(total_incl),
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


def csv_lines(rows: Iterable[list[Any]]) -> Iterator[str]:
    """CSV lines; the cells formatted by column kind (plain notation for numbers, ISO 8601 for
    datetimes, text neutralised against formulas), a loop per kind rather
    than a call per cell: at 46 columns the calls cost more than the rest of a row."""
    writer = csv.writer(_Echo())
    texts, numbers, datetimes = _positions("text"), _positions("number"), _positions("datetime")
    # Amounts are quantized to the cent (exponent -2), whose str() is their plain notation: they and
    # None (an empty cell) go to the writer as they are.
    starts = _FORMULA_STARTS
    yield writer.writerow(HEADER)
    for row in rows:
        cells = list(row)
        for index in texts:
            value = cells[index]
            if value.__class__ is not str:
                value = "" if value is None else str(value)
            if value and value[0] in starts:
                cells[index] = f"'{value}"
            else:
                cells[index] = value
        for index in numbers:
            value = cells[index]
            if value is not None:
                cells[index] = f"{value:f}"
        for index in datetimes:
            value = cells[index]
            if value is not None:
                cells[index] = value.isoformat().replace("+00:00", "Z")
        yield writer.writerow(cells)


# -- XLSX: SpreadsheetML (ECMA-376 Part 1, SpreadsheetML) written as a stream -------------------------
# openpyxl's write-only mode builds a cell object and an XML element per value: measured at about
# 600 rows/s for these 46 columns (750 with lxml), against 5,000 wanted. The sheet is plain XML, so
# it is written here row by row into a zip member that is compressed as it is written (constant
# memory); text as inline strings, amounts and dates as numbers with a number format (styles.xml).
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
# Day 0 of the 1900 date system (serials from 61 on, 1 March 1900, are exact; Excel keeps milliseconds).
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
_DAY = timedelta(days=1)


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def _xlsx_row(number: int, row: Iterable[Any], letters: list[str], kinds: list[str]) -> str:
    cells = []
    for letter, kind, value in zip(letters, kinds, row, strict=True):
        if value is None or value == "":
            continue
        if kind == "text" or value.__class__ is str:
            text = str(value)
            if text.isprintable():  # no control characters: the three escapes, without translate()
                text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            else:
                text = text.translate(_XML_TEXT)
            cells.append(
                f'<c r="{letter}{number}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
            )
        elif kind == "datetime":
            # Excel has no time zones: the wall-clock time of the column's zone (see its name).
            serial = (value.replace(tzinfo=UTC) - _EXCEL_EPOCH) / _DAY
            cells.append(f'<c r="{letter}{number}" s="2"><v>{serial!r}</v></c>')
        elif kind == "amount":
            cells.append(f'<c r="{letter}{number}" s="1"><v>{value:f}</v></c>')
        else:
            cells.append(f'<c r="{letter}{number}"><v>{value:f}</v></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'


def write_xlsx(rows: Iterable[list[Any]], target: IO[bytes]) -> None:
    """A workbook with one sheet "CDRs": amounts are numbers with a two-decimal format, dates are
    dates; written as a stream (the sheet is compressed as it is written)."""
    letters = [_column_letters(index) for index in range(len(COLUMNS))]
    kinds = [kind for _, kind in COLUMNS]
    # The fastest deflate level: a quarter larger (5.1 against 4.1 MB for 20,000 rows), compressed faster.
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as package:
        for name, xml in _XLSX_PARTS.items():
            package.writestr(name, _XML + xml)
        with package.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'{_XML}<worksheet xmlns="{_MAIN}"><sheetData>'.encode())
            sheet.write(_xlsx_row(1, HEADER, letters, ["text"] * len(HEADER)).encode())
            batch: list[str] = []
            for number, row in enumerate(rows, start=2):
                batch.append(_xlsx_row(number, row, letters, kinds))
                if len(batch) == 500:
                    sheet.write("".join(batch).encode())
                    batch.clear()
            sheet.write(("".join(batch) + "</sheetData></worksheet>").encode())


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
