"""On PostgreSQL the database writes a CSV export itself (finance.export_queries): held here byte for
byte to the CSV that the csv module writes from export_rows(), which stays the reference (and is what
SQLite serves), over rows chosen for every rule a cell follows: quoting, formula guards, time zones
and their offsets, half cents, tax lines, tariffs, receipts, terminals and every kind of chain."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from finance import exports
from finance.export_queries import COPY_COLUMNS, SCREEN_ORDER
from finance.exports import HEADER, Credits, ExportFilter, csv_blocks, csv_body, export_rows, filtered_cdrs
from finance.selectors import cdrs_with_reconciliation
from sessions.credits import cdr_credit_and_correct
from sessions.models import Cdr
from tests.factories import (
    CdrFactory,
    ChargingSessionFactory,
    FinancialAdviceConfirmationFactory,
    LocationFactory,
    PaymentTerminalFactory,
)
from tests.finance.export_data import END, capture, dataset, ending

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL writes its own CSV"),
]


def python_csv(queryset: object, *, unmask: bool = False) -> bytes:
    return "".join(csv_blocks(export_rows(queryset, unmask=unmask))).encode()  # type: ignore[arg-type]


def database_csv(queryset: object, *, unmask: bool = False) -> bytes:
    return b"".join(csv_body(queryset, unmask=unmask))  # type: ignore[arg-type]


def assert_same_csv(queryset: object, *, unmask: bool = False) -> None:
    expected, got = python_csv(queryset, unmask=unmask), database_csv(queryset, unmask=unmask)
    if got != expected:  # the first line that differs, cell by cell, says more than two blobs
        for wanted, written in zip(expected.split(b"\r\n"), got.split(b"\r\n"), strict=False):
            assert written == wanted
    assert got == expected


def session_in(time_zone: str, **fields: object) -> object:
    location = LocationFactory(time_zone=time_zone)
    session = ChargingSessionFactory(connector__evse__location=location)
    return CdrFactory(session=session, **fields)


def odd_rows() -> None:
    """Rows beyond the data set, each for a rule of a cell."""
    CdrFactory(  # cells that need quoting, and texts a spreadsheet would run as a formula
        cdr_location={
            "id": "LOC,1", "address": 'Stationsplein 1, "B"\nUtrecht', "city": "Zürich\r",
            "postal_code": "+31", "country": "-NL", "evse_uid": "@E1", "evse_id": "\tE2",
            "connector_id": 1,
        },
        invoice_reference_id='INV"2',
        authorization_reference="",
        tariffs=[{"id": "A,B"}, {"id": ""}, "not a tariff", {"name": "no id"}],
    )  # fmt: skip
    session_in(  # a half-hour zone, microseconds, and half cents on each side of zero
        "Asia/Kolkata",
        start_date_time=datetime(2026, 6, 1, 10, 0, 0, 123456, tzinfo=UTC),
        end_date_time=datetime(2026, 6, 1, 11, 0, 0, 500, tzinfo=UTC),
        total_energy_cost_excl_vat=Decimal("12.3450"),
        total_time_cost_excl_vat=Decimal("4.4550"),
        total_parking_cost_excl_vat=Decimal("-12.3450"),
        total_fixed_cost_excl_vat=Decimal("0.0050"),
        total_reservation_cost_excl_vat=Decimal("-0.0050"),
        total_cost_taxes=[
            {"name": "VAT", "percentage": 5.5, "amount": "0.55"},
            {"percentage": 21, "amount": "2.10"},
            {"name": "City"},
        ],
    )
    session_in("America/New_York", **ending(datetime(2026, 1, 15, 12, tzinfo=UTC)), total_cost_taxes=[])
    session_in("Europe/London", **ending(datetime(2026, 1, 15, 12, tzinfo=UTC)))  # offset 0: Z
    session_in("", **ending(datetime(2026, 1, 15, 13, tzinfo=UTC)))  # no zone: UTC
    CdrFactory(total_cost_incl_vat=None, token_uid="AB", tariffs=[])  # no total; a short uid
    # A capture a fraction of a cent short: the difference rounds to nothing, never "-0.00".
    short = CdrFactory(total_cost_incl_vat=Decimal("10.0040"))
    capture(short, "10.00")
    # The newest capture wins: failed first, captured later; receipts of one and of three lines.
    retried = CdrFactory(total_cost_incl_vat=Decimal("7.50"))
    capture(retried, "0", "FAILED", eft=["DECLINED"])
    capture(retried, "7.50", eft=["VISA ****9999", "AUTH 7", "Merci"])
    capture(CdrFactory(total_cost_incl_vat=Decimal("3.00")), "2.00")  # captured less than billed
    CdrFactory()  # awaiting its capture
    # Not a card payment, credited: a chain of its own that knows its credit.
    cash = CdrFactory(authorization_reference="", total_cost_incl_vat=Decimal("3.30"))
    cdr_credit_and_correct(cdr=cash, corrections={"total_cost_incl_vat": Decimal("3.00")}, remark="x")
    CdrFactory(partner=None)  # no partner: not a card payment either
    # Terminals: the EVSE's own, else the location's (the first by id of several).
    at_terminal = CdrFactory()
    PaymentTerminalFactory(terminal_id="T-EVSE").evses.add(at_terminal.session.evse)
    for terminal_id in ("T-LOC-2", "T-LOC-1"):
        PaymentTerminalFactory(terminal_id=terminal_id).locations.add(at_terminal.session.location)
    at_location = CdrFactory(session__connector__evse__location=at_terminal.session.location)
    assert at_location.session.evse != at_terminal.session.evse
    # No session at all: no zone, session id or terminal to show.
    lone = CdrFactory()
    CdrFactory(
        session=None, party=lone.party, partner=lone.partner, start_date_time=END, end_date_time=END,
        token_country_code="NL", token_party_id="PTR", token_uid="04AABBCCDD", token_type="RFID",
        token_contract_id="NL-PTR-1", authorization_reference="AUTH-NO-SESSION",
        cdr_location={"id": "LOC-GONE"}, charging_periods=[],
    )  # fmt: skip


def test_the_database_writes_the_csv_of_the_python_rows_byte_for_byte() -> None:
    dataset()
    odd_rows()
    tied = CdrFactory(**ending(END - timedelta(minutes=5)))
    CdrFactory(partner=tied.partner, authorization_reference=tied.authorization_reference, **ending(END))
    party = Cdr.objects.get(cdr_id="EXP-ORIGINAL").party

    selections = {
        "all": Cdr.objects.all(),
        "credits only": filtered_cdrs(ExportFilter(credits=Credits.ONLY)),
        "without credits": filtered_cdrs(ExportFilter(credits=Credits.EXCLUDE)),
        "a period in a zone": filtered_cdrs(
            # END is 1 April 01:30 in Amsterdam: the corrected chain, not the rows of 31 March
            ExportFilter(date_from=date(2026, 4, 1), date_to=date(2026, 4, 1), time_zone="Europe/Amsterdam")
        ),
        "a party": filtered_cdrs(ExportFilter(party=f"{party.country_code}*{party.party_id}")),
        "a currency": filtered_cdrs(ExportFilter(currency="GBP")),
        "the list's own order": Cdr.objects.order_by("cdr_id"),
        "the list's own order, by two": Cdr.objects.order_by("-end_date_time", "pk"),
        "the reconciliation page": cdrs_with_reconciliation(Cdr.objects.all()).order_by(*SCREEN_ORDER),
        "part of a chain": Cdr.objects.exclude(cdr_id="EXP-ORIGINAL"),
    }
    for name, queryset in selections.items():
        assert python_csv(queryset).count(b"\r\n") > 1, name  # each selection holds rows
        assert_same_csv(queryset)
    assert_same_csv(Cdr.objects.all(), unmask=True)


def test_empty_selections_are_the_header_alone() -> None:
    CdrFactory()
    header = ",".join(HEADER).encode() + b"\r\n"
    for queryset in (Cdr.objects.filter(pk__in=[]), Cdr.objects.filter(currency="XXX"), Cdr.objects.none()):
        assert database_csv(queryset) == python_csv(queryset) == header


def test_the_cells_are_written_in_the_documented_columns() -> None:
    assert [name for name, _ in COPY_COLUMNS] == HEADER


def test_the_pieces_hold_whole_lines_and_report_their_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    dataset()  # six CDRs: three pieces of two
    counted: list[int] = []

    pieces = list(csv_body(Cdr.objects.all(), unmask=False, on_rows=counted.append))

    assert pieces[0] == ",".join(HEADER).encode() + b"\r\n"
    assert [piece.count(b"\r\n") for piece in pieces[1:]] == counted == [2, 2, 2]
    assert b"".join(pieces) == python_csv(Cdr.objects.all())


def test_a_csv_of_any_length_is_one_statement() -> None:
    """The finding: a CSV export built each row in Python (about 60 µs of CPU a row, 12,000 rows/s
    against 20,000 wanted) and read the rows in a few queries per chunk of 2,000. The database now
    writes every line in one COPY statement, whatever the number of rows."""

    def statements(count: int) -> list[str]:
        for _ in range(count - Cdr.objects.count()):
            capture(CdrFactory(), "5.90")
        with CaptureQueriesContext(connection) as captured:
            body = database_csv(Cdr.objects.all())
        assert body.count(b"\r\n") == count + 1
        queries = [query["sql"] for query in captured.captured_queries]
        return [sql for sql in queries if not sql.startswith(("SET", "RESET"))]  # the planner settings

    few, many = statements(3), statements(30)
    assert len(few) == len(many) == 1
    assert many[0].startswith("COPY (")


def test_a_capture_for_another_partner_is_not_this_chain() -> None:
    cdr = CdrFactory()
    FinancialAdviceConfirmationFactory(authorization_reference=cdr.authorization_reference)  # another PTP

    assert_same_csv(Cdr.objects.all())
    assert b"AWAITING_CAPTURE" in database_csv(Cdr.objects.all())


def test_a_download_abandoned_midway_leaves_the_connection_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    dataset()
    with connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        work_mem = cursor.fetchone()

    body = csv_body(Cdr.objects.all(), unmask=False)
    next(body), next(body)  # the header and two rows: the client goes away
    body.close()

    assert Cdr.objects.count() == 6  # the COPY ended: the connection takes queries again
    with connection.cursor() as cursor:
        cursor.execute("SHOW work_mem")
        assert cursor.fetchone() == work_mem


@pytest.mark.parametrize("order", ["1", "-6", "10.-4", ""])
def test_the_reconciliation_list_sorted_by_a_column_downloads_the_rows_of_the_page(
    order: str, finance_client: Client
) -> None:
    """Sorted by the CDR, the chain's net or its status and end (annotations of the page), the list's
    CSV holds the page's rows in the page's order, as the Python rows write them."""
    dataset()
    odd_rows()
    params = {"o": order} if order else {}
    listed = finance_client.get("/admin/finance/cdrreconciliation/", {**params, "all": ""})
    page_ids = [cdr.cdr_id for cdr in listed.context["cl"].result_list]

    response = finance_client.get("/admin/finance/cdrreconciliation/export/", params)
    body = b"".join(response.streaming_content)

    queryset = listed.context["cl"].get_queryset(listed.wsgi_request)
    assert body == python_csv(queryset)
    assert [line.split(b",", 1)[0].decode() for line in body.split(b"\r\n")[1:-1]] == page_ids
