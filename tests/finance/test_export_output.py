"""The exports' fast read (one ordering query, a few queries per chunk) writes the same values, to the
cent, on PostgreSQL and on SQLite (the embedded set-up): each test runs on the suite's database, and
the expected values are written out here, so both databases are held to the same output."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from finance import exports
from finance.exports import HEADER, ExportFilter, csv_blocks, csv_body, export_rows, filtered_cdrs, xlsx_file
from finance.selectors import cdrs_with_reconciliation
from sessions.credits import cdr_credit_and_correct
from sessions.models import Cdr
from tests.factories import CdrFactory
from tests.finance.export_data import END, capture, dataset, ending

pytestmark = pytest.mark.django_db


def csv_records(queryset: object) -> list[dict[str, str]]:
    """The records of the CSV as served: written by PostgreSQL on PostgreSQL, from export_rows() on
    SQLite (csv_body()), so both are held to the values below."""
    text = b"".join(csv_body(queryset, unmask=False)).decode()  # type: ignore[arg-type]
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == HEADER
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


# The columns that carry figures and rules (ids of parties, sessions and locations come from factories).
EXPECTED = {
    "EXP-ORIGINAL": {
        "start_utc": "2026-03-31T21:30:00Z",
        "end_utc": "2026-03-31T23:30:00Z",
        "start_local": "2026-03-31T23:30:00+02:00",
        "end_local": "2026-04-01T01:30:00+02:00",
        "time_zone": "Europe/Amsterdam",
        "energy_kwh": "22.1234",
        "charging_time_h": "1.500000",
        "parking_time_h": "0.250000",
        "tariff_ids": "AC-DAY AC-NIGHT",
        "energy_cost_excl_vat": "12.34",
        "time_cost_excl_vat": "4.46",
        "parking_cost_excl_vat": "",
        "total_excl_vat": "16.80",
        "tax_rates": "VAT 21%",
        "tax_amounts": "3.53",
        "total_taxes": "3.53",
        "total_incl_vat": "20.33",
        "currency": "EUR",
        "token_uid": "**********E5F6",
        "invoice_reference_id": "INV-1",
        "credit": "no",
        "credited_cdr_id": "",
        "chain_role": "CREDITED",
        "capture_status": "SUCCESS",
        "captured_incl_vat": "20.33",
        "chain_net_incl_vat": "18.15",
        "difference": "2.18",
        "reconciliation_status": "REFUND_DUE",
        "eft_data": "VISA ****1234 | AUTH 0042",
    },
    "EXP-ORIGINAL-C1": {
        "total_excl_vat": "-16.80",
        "total_incl_vat": "-20.33",
        "energy_cost_excl_vat": "-12.34",
        "credit": "yes",
        "credited_cdr_id": "EXP-ORIGINAL",
        "chain_role": "CREDIT",
        "captured_incl_vat": "20.33",
        "chain_net_incl_vat": "18.15",
        "difference": "2.18",
        "reconciliation_status": "REFUND_DUE",
    },
    "EXP-ORIGINAL-R1": {
        "total_excl_vat": "15.00",
        "total_incl_vat": "18.15",
        "credit": "no",
        "chain_role": "REPLACEMENT",
        "captured_incl_vat": "20.33",
        "chain_net_incl_vat": "18.15",
        "difference": "2.18",
        "reconciliation_status": "REFUND_DUE",
    },
    "EXP-NO-CARD": {
        "end_utc": "2026-03-31T23:29:00Z",
        "tax_rates": "VAT 21%; City 5%",
        "tax_amounts": "1.00; 0.25",
        "total_taxes": "1.25",
        "total_incl_vat": "6.25",
        "authorization_reference": "",
        "invoice_reference_id": "'=HYPERLINK(1)",
        "chain_role": "SINGLE",
        "capture_status": "",
        "captured_incl_vat": "",
        "chain_net_incl_vat": "6.25",
        "difference": "",
        "reconciliation_status": "NOT_CARD_PAYMENT",
        "eft_data": "",
    },
    "EXP-FAILED": {
        "tax_rates": "",
        "tax_amounts": "",
        "total_taxes": "1.93",  # no tax lines: incl - excl
        "total_incl_vat": "11.11",
        "capture_status": "FAILED",
        "captured_incl_vat": "0.00",
        "chain_net_incl_vat": "11.11",
        "difference": "-11.11",
        "reconciliation_status": "CAPTURE_FAILED",
    },
    "EXP-PARTIAL": {
        "currency": "GBP",
        "capture_status": "PARTIAL_SUCCESS",
        "captured_incl_vat": "20.33",
        "chain_net_incl_vat": "21.97",
        "difference": "-1.64",
        "reconciliation_status": "PARTIAL_CAPTURE",
    },
}


def test_the_csv_holds_each_figure_to_the_cent() -> None:
    cdrs = dataset()

    records = csv_records(Cdr.objects.all())

    # Newest chain first, the chain together in the order made.
    assert [r["cdr_id"] for r in records] == [
        "EXP-ORIGINAL", "EXP-ORIGINAL-C1", "EXP-ORIGINAL-R1", "EXP-NO-CARD", "EXP-FAILED", "EXP-PARTIAL",
    ]  # fmt: skip
    by_id = {record["cdr_id"]: record for record in records}
    for cdr_id, expected in EXPECTED.items():
        got = {name: by_id[cdr_id][name] for name in expected}
        assert got == expected, cdr_id
    original = cdrs["original"]
    first = by_id["EXP-ORIGINAL"]
    assert first["party"] == f"{original.party.country_code}*{original.party.party_id}"
    assert first["partner"] == original.partner.name
    assert first["session_id"] == original.session.session_id
    assert first["location_id"] == original.cdr_location["id"]
    assert first["evse_id"] == original.cdr_location["evse_id"]
    assert first["city"] == original.cdr_location["city"]
    assert first["authorization_reference"] == original.authorization_reference


def test_typed_rows_are_decimals_to_the_cent_and_aware_times() -> None:
    dataset()

    rows = {row[0]: dict(zip(HEADER, row, strict=True)) for row in export_rows(Cdr.objects.all())}

    first = rows["EXP-ORIGINAL"]
    assert first["total_incl_vat"] == Decimal("20.33")
    assert first["total_incl_vat"].as_tuple().exponent == -2
    assert first["energy_kwh"] == Decimal("22.1234")
    assert first["end_utc"] == END
    assert first["end_local"].utcoffset() == timedelta(hours=2)
    assert first["parking_cost_excl_vat"] is None
    assert rows["EXP-NO-CARD"]["difference"] is None


def test_the_fast_screen_order_is_the_order_of_the_page() -> None:
    """One grouped join (exports) and the correlated subqueries of the page give the same order, also
    when a filter keeps part of a chain (its root outside the export) and ends tie."""
    cdrs = dataset()
    CdrFactory(partner=None, **ending(END - timedelta(minutes=1)))  # same end as EXP-NO-CARD
    CdrFactory(**ending(END))  # same end as the corrected chain
    tied = CdrFactory(**ending(END - timedelta(minutes=5)))
    CdrFactory(  # a chain of two without credit, the second ending later
        partner=tied.partner, authorization_reference=tied.authorization_reference, **ending(END)
    )
    selections = [
        Cdr.objects.all(),
        filtered_cdrs(ExportFilter(credits="only")),
        filtered_cdrs(ExportFilter(credits="exclude")),
        Cdr.objects.exclude(pk=cdrs["original"].pk),
        Cdr.objects.filter(currency="GBP"),
    ]
    for selection in selections:
        fast = [pk for chunk in exports._ordered_id_chunks(selection) for pk in chunk]
        page = list(exports._screen_ordered(selection).values_list("pk", flat=True))
        assert fast == page
        assert fast == list(cdrs_with_reconciliation(selection).order_by(*exports.SCREEN_ORDER).values_list(
            "pk", flat=True
        ))  # fmt: skip


def test_the_export_rows_carry_the_page_chain_figures() -> None:
    dataset()
    alone = CdrFactory(authorization_reference="", total_cost_incl_vat=Decimal("3.30"))
    cdr_credit_and_correct(cdr=alone, corrections={"total_cost_incl_vat": Decimal("3.00")}, remark="x")
    cent = Decimal("0.01")

    def quantized(value: Decimal | None) -> Decimal | None:
        return None if value is None else value.quantize(cent)

    page = {cdr.cdr_id: cdr for cdr in cdrs_with_reconciliation()}
    exported = [dict(zip(HEADER, row, strict=True)) for row in export_rows(Cdr.objects.all())]

    assert len(exported) == len(page) == 9
    assert {row["chain_role"] for row in exported} == {"SINGLE", "CREDITED", "CREDIT", "REPLACEMENT"}
    for row in exported:
        cdr = page[row["cdr_id"]]
        assert (row["chain_role"], row["reconciliation_status"], row["capture_status"] or None) == (
            cdr.chain_role,
            cdr.reconciliation_status,
            cdr.capture_status,
        ), row["cdr_id"]
        assert (row["chain_net_incl_vat"], row["captured_incl_vat"], row["difference"]) == (
            quantized(cdr.chain_billed),
            quantized(cdr.chain_captured),
            quantized(cdr.chain_difference),
        ), row["cdr_id"]


def test_a_list_in_its_own_order_exports_the_same_rows_in_that_order() -> None:
    dataset()
    screen = {row[0]: row for row in export_rows(Cdr.objects.all())}

    listed = list(export_rows(Cdr.objects.order_by("cdr_id")))

    assert [row[0] for row in listed] == sorted(screen)
    for row in listed:
        assert row == screen[row[0]]


def test_an_empty_selection_is_the_header_alone() -> None:
    CdrFactory()
    assert "".join(csv_blocks(export_rows(Cdr.objects.filter(pk__in=[])))).splitlines() == [",".join(HEADER)]
    assert "".join(csv_blocks(export_rows(Cdr.objects.filter(currency="XXX")))).splitlines() == [
        ",".join(HEADER)
    ]
    with xlsx_file(export_rows(Cdr.objects.none())) as body:
        rows = list(openpyxl.load_workbook(io.BytesIO(body.read()))["CDRs"].iter_rows(values_only=True))
    assert rows == [tuple(HEADER)]


def test_an_export_reads_a_few_queries_per_chunk_not_per_row(monkeypatch: pytest.MonkeyPatch) -> None:
    """Per chunk: its rows and its captures; the other CDRs of its chains when a chain has more than one;
    the credits of CDRs outside card chains when it holds such a CDR. No query per row."""
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    for _ in range(2):
        capture(CdrFactory(), "5.90")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = list(export_rows(Cdr.objects.all()))
        assert len(rows) == Cdr.objects.count()
        return len(captured.captured_queries)

    two = queries()
    for _ in range(4):
        capture(CdrFactory(), "5.90")
    six = queries()
    assert six - two == 2 * 2  # two more chunks of chains of one CDR: rows and captures
    CdrFactory(authorization_reference="", **ending(END - timedelta(days=365)))  # the last row
    seven = queries()
    assert seven - six == 3  # one more chunk: rows, captures, credits of CDRs outside card chains
    corrected = CdrFactory(**ending(END + timedelta(days=365)))  # the first chain
    capture(corrected, "5.90")
    cdr_credit_and_correct(cdr=corrected, corrections={"total_cost_incl_vat": Decimal("5.00")}, remark="x")
    # Chunks: [original, credit] [replacement, 1] [2, 3] [4, 5] [6, no card]: the first two read the
    # other CDRs of their chain (2 + 1 + 1 + 2 + 2 queries before: [1, 2] [3, 4] [5, 6] [no card]).
    assert queries() - seven == 4


def test_the_xlsx_holds_every_value_of_the_rows() -> None:
    """Read back with openpyxl, each cell is the exported value: text (XML characters escaped, control
    characters dropped, spaces kept), amounts as numbers with the currency format, dates as the
    wall-clock time of their column."""
    dataset()
    CdrFactory(invoice_reference_id=" A&B <1> \x07end", authorization_reference="")
    expected = list(export_rows(Cdr.objects.all()))

    with xlsx_file(export_rows(Cdr.objects.all())) as body:
        workbook = openpyxl.load_workbook(io.BytesIO(body.read()))
    sheet = workbook["CDRs"]
    rows = list(sheet.iter_rows(values_only=True))

    assert list(rows[0]) == HEADER
    assert len(rows) == len(expected) + 1 == 8
    for read, row in zip(rows[1:], expected, strict=True):
        for name, got, value in zip(HEADER, read, row, strict=True):
            if isinstance(value, datetime):  # a spreadsheet keeps milliseconds
                assert abs(got - value.replace(tzinfo=None)) < timedelta(milliseconds=1), name
            elif isinstance(value, Decimal):
                assert Decimal(str(got)) == value, name
            else:
                assert got == (value.replace("\x07", "") if value else None), name
    assert " A&B <1> end" in [read[HEADER.index("invoice_reference_id")] for read in rows]
    line = [read[0] for read in rows].index("EXP-ORIGINAL") + 1
    second = {name: sheet.cell(row=line, column=index + 1) for index, name in enumerate(HEADER)}
    assert second["total_incl_vat"].number_format == "#,##0.00"
    assert second["difference"].number_format == "#,##0.00"
    assert second["end_local"].is_date
    assert second["end_local"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert second["end_local"].value == datetime(2026, 4, 1, 1, 30)
    assert second["energy_cost_excl_vat"].value == pytest.approx(12.34)


def test_csv_lines_are_those_of_the_csv_module_also_for_cells_that_need_quoting() -> None:
    dataset()
    location = {"id": "LOC,1", "address": 'Stationsplein 1, "B"\nUtrecht', "city": "Utrecht\r"}
    CdrFactory(cdr_location=location, invoice_reference_id='INV"2', authorization_reference="")
    rows = list(export_rows(Cdr.objects.all()))
    plain = io.StringIO()
    writer = csv.writer(plain)
    writer.writerow(HEADER)
    writer.writerows([exports._csv_cells(row) for row in rows])

    assert "".join(csv_blocks(rows)) == "".join(exports.csv_lines(rows)) == plain.getvalue()
    records = list(csv.DictReader(io.StringIO(plain.getvalue(), newline="")))
    assert [r["address"] for r in records if r["location_id"] == "LOC,1"] == ['Stationsplein 1, "B"\nUtrecht']
