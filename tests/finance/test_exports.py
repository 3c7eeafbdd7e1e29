"""Finance exports every CDR of a period as CSV, XLSX or OCPI JSON lines, each readable by its reader."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client

from finance.exports import HEADER, ExportFilter, filtered_cdrs, mask_uid
from sessions.credits import cdr_credit_and_correct
from sessions.models import Cdr
from tests.factories import CdrFactory, FinancialAdviceConfirmationFactory

pytestmark = pytest.mark.django_db

PAGE = "/admin/finance/cdrreconciliation/export-period/"
VIEW_EXPORT = "/admin/finance/cdrreconciliation/export/"
API = "/finance/api/v1/cdrs/export"


def body_of(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def chain() -> tuple[Cdr, Cdr, Cdr]:
    """A CDR captured for 20.33, credited and replaced by 18.15 (ends 2026-03-31 23:30 UTC)."""
    end = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)
    original = CdrFactory(
        total_cost_excl_vat=Decimal("16.80"),
        total_cost_incl_vat=Decimal("20.33"),
        total_cost_taxes=[{"name": "VAT", "percentage": "21", "amount": "3.53"}],
        total_energy_cost_excl_vat=Decimal("16.80"),
        start_date_time=datetime(2026, 3, 31, 22, 0, tzinfo=UTC),
        end_date_time=end,
        tariffs=[{"id": "AC-STANDARD"}],
        session__token_uid="04A1B2C3D4E5F6",
    )
    FinancialAdviceConfirmationFactory(
        partner=original.partner,
        authorization_reference=original.authorization_reference,
        total_costs_incl_vat=Decimal("20.33"),
        eft_data=["VISA ****1234", "AUTH 0042"],
    )
    credit, replacement = cdr_credit_and_correct(
        cdr=original,
        corrections={"total_cost_excl_vat": Decimal("15.00"), "total_cost_incl_vat": Decimal("18.15")},
        remark="Meter misread",
    )
    assert replacement is not None
    return original, credit, replacement


def test_the_csv_has_the_documented_columns_and_the_chain_in_screen_order(finance_client: Client) -> None:
    original, credit, replacement = chain()

    response = finance_client.get(VIEW_EXPORT, {"export_format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body_of(response).decode())))
    assert rows[0] == HEADER
    records = [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]
    assert [r["cdr_id"] for r in records] == [original.cdr_id, credit.cdr_id, replacement.cdr_id]
    first = records[0]
    assert first["start_utc"] == "2026-03-31T22:00:00Z"
    # Amsterdam is on summer time (UTC+2) from 29 March 2026: 23:30 UTC is 01:30 the next day.
    assert first["end_local"] == "2026-04-01T01:30:00+02:00"
    assert first["time_zone"] == "Europe/Amsterdam"
    assert first["total_incl_vat"] == "20.33"
    assert first["tax_rates"] == "VAT 21%"
    assert first["tax_amounts"] == "3.53"
    assert first["total_taxes"] == "3.53"
    assert first["energy_cost_excl_vat"] == "16.80"
    assert first["tariff_ids"] == "AC-STANDARD"
    assert first["token_uid"] == "**********E5F6"
    assert first["eft_data"] == "VISA ****1234 | AUTH 0042"
    assert first["chain_role"] == "CREDITED"
    assert records[1]["credit"] == "yes"
    assert records[1]["credited_cdr_id"] == original.cdr_id
    for record in records:
        assert record["captured_incl_vat"] == "20.33"
        assert record["chain_net_incl_vat"] == "18.15"
        assert record["difference"] == "2.18"
        assert record["reconciliation_status"] == "REFUND_DUE"
    assert "reconciliation_" in response["Content-Disposition"]
    assert response["Content-Disposition"].endswith('.csv"')


def test_negative_amounts_stay_numbers_in_the_csv(finance_client: Client) -> None:
    chain()
    rows = list(csv.DictReader(io.StringIO(body_of(finance_client.get(VIEW_EXPORT)).decode())))
    assert rows[1]["total_incl_vat"] == "-20.33"


def test_the_xlsx_opens_with_numbers_and_dates(finance_client: Client) -> None:
    original, _credit, _replacement = chain()

    response = finance_client.get(VIEW_EXPORT, {"export_format": "xlsx"})

    assert response.status_code == 200
    content = body_of(response)
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    rows = list(workbook["CDRs"].iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    first = dict(zip(HEADER, rows[1], strict=True))
    assert first["cdr_id"] == original.cdr_id
    assert first["end_utc"] == datetime(2026, 3, 31, 23, 30)
    assert first["end_local"] == datetime(2026, 4, 1, 1, 30)
    assert isinstance(first["total_incl_vat"], float | int | Decimal)
    assert Decimal(str(first["total_incl_vat"])) == Decimal("20.33")
    assert Decimal(str(first["difference"])) == Decimal("2.18")
    sheet = openpyxl.load_workbook(io.BytesIO(content))["CDRs"]
    assert sheet.cell(row=2, column=HEADER.index("total_incl_vat") + 1).number_format == "#,##0.00"
    assert sheet.cell(row=2, column=HEADER.index("end_utc") + 1).is_date
    assert response["Content-Disposition"].endswith('.xlsx"')


def test_the_json_lines_are_the_cdr_objects_as_posted(finance_client: Client) -> None:
    original, credit, replacement = chain()

    response = finance_client.get(VIEW_EXPORT, {"export_format": "jsonl"})

    lines = body_of(response).decode().splitlines()
    objects = [json.loads(line) for line in lines]
    assert [o["id"] for o in objects] == [original.cdr_id, credit.cdr_id, replacement.cdr_id]
    assert objects[1]["credit"] is True
    assert objects[1]["credit_reference_id"] == original.cdr_id
    assert objects[0]["total_cost"] == {"excl_vat": 16.8, "incl_vat": 20.33}
    assert objects[0]["end_date_time"] == "2026-03-31T23:30:00Z"
    assert objects[0]["cdr_token"]["uid"] == mask_uid("04A1B2C3D4E5F6")


def test_the_token_uid_is_shown_in_full_only_with_the_explicit_permission(
    finance_client: Client, django_user_model: object
) -> None:
    chain()
    user = django_user_model.objects.get(username="finance")  # type: ignore[attr-defined]
    user.user_permissions.add(Permission.objects.get(codename="view_token_uid"))
    rows = list(csv.DictReader(io.StringIO(body_of(finance_client.get(VIEW_EXPORT)).decode())))
    assert rows[0]["token_uid"] == "04A1B2C3D4E5F6"
    lines = body_of(finance_client.get(VIEW_EXPORT, {"export_format": "jsonl"})).decode().splitlines()
    assert json.loads(lines[0])["cdr_token"]["uid"] == "04A1B2C3D4E5F6"


def test_the_export_page_filters_a_period_in_a_time_zone(finance_client: Client) -> None:
    original, _credit, _replacement = chain()  # ends 1 April in Amsterdam, 31 March in UTC
    page = finance_client.get(PAGE)
    assert page.status_code == 200
    assert b"token_uid" in page.content

    amsterdam_april = finance_client.get(
        PAGE, {"date_from": "2026-04-01", "date_to": "2026-04-30", "time_zone": "Europe/Amsterdam",
               "credits": "exclude", "export_format": "csv"},
    )  # fmt: skip
    utc_april = finance_client.get(
        PAGE, {"date_from": "2026-04-01", "date_to": "2026-04-30", "time_zone": "UTC", "credits": "all",
               "export_format": "csv"},
    )  # fmt: skip

    rows = list(csv.DictReader(io.StringIO(body_of(amsterdam_april).decode())))
    assert [row["credit"] for row in rows] == ["no", "no"]
    assert rows[0]["cdr_id"] == original.cdr_id
    assert list(csv.DictReader(io.StringIO(body_of(utc_april).decode()))) == []
    disposition = amsterdam_april["Content-Disposition"]
    assert "2026-04-01_2026-04-30" in disposition
    assert "europe-amsterdam" in disposition
    assert "credits-exclude" in disposition


def test_filters_select_party_partner_location_and_currency() -> None:
    original, _credit, _replacement = chain()
    other = CdrFactory(currency="GBP")
    party = f"{original.party.country_code}*{original.party.party_id}"
    location_id = original.cdr_location["id"]
    assert set(filtered_cdrs(ExportFilter(currency="GBP"))) == {other}
    assert other not in filtered_cdrs(ExportFilter(partner_id=original.partner_id))
    assert other not in filtered_cdrs(ExportFilter(location_id=location_id))
    assert filtered_cdrs(ExportFilter(party=party)).filter(pk=original.pk).exists()
    assert filtered_cdrs(ExportFilter(credits="only")).get().credit is True


def test_someone_without_the_export_permission_gets_no_export(
    client: Client, django_user_model: object
) -> None:
    user = django_user_model.objects.create_user("clerk", password="x", is_staff=True)  # type: ignore[attr-defined]
    user.user_permissions.add(Permission.objects.get(codename="view_cdrreconciliation"))
    client.force_login(user)
    assert client.get(VIEW_EXPORT).status_code == 403
    assert client.get(PAGE).status_code == 403
    listing = client.get("/admin/finance/cdrreconciliation/")
    assert listing.status_code == 200
    assert b"Download CSV of this view" not in listing.content
    assert listing.context["action_form"] is None  # no export action offered: no action at all


def test_the_list_action_exports_the_selected_cdrs(finance_client: Client) -> None:
    original, _credit, _replacement = chain()
    response = finance_client.post(
        "/admin/finance/cdrreconciliation/", {"action": "export_xlsx", "_selected_action": [original.pk]}
    )
    rows = list(openpyxl.load_workbook(io.BytesIO(body_of(response)), read_only=True)["CDRs"].values)
    assert [row[0] for row in rows[1:]] == [original.cdr_id]


def test_the_management_command_writes_a_file(tmp_path: object) -> None:
    original, credit, replacement = chain()
    target = tmp_path / "april.csv"  # type: ignore[operator]
    call_command(
        "export_cdrs", "--from", "2026-04-01", "--to", "2026-04-30", "--time-zone", "Europe/Amsterdam",
        "--format", "csv", "--output", str(target),
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert [row["cdr_id"] for row in rows] == [original.cdr_id, credit.cdr_id, replacement.cdr_id]


def test_the_rest_endpoint_exports_with_the_permission_only(
    finance_client: Client, client: Client, django_user_model: object
) -> None:
    original, _credit, _replacement = chain()

    response = finance_client.get(API, {"file_format": "jsonl", "time_zone": "Europe/Amsterdam",
                                        "date_from": "2026-04-01", "credits": "exclude"})  # fmt: skip

    assert response.status_code == 200
    ids = [json.loads(line)["id"] for line in body_of(response).decode().splitlines()]
    assert ids[0] == original.cdr_id
    assert len(ids) == 2
    assert client.get(API).status_code in (401, 403)
    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)  # type: ignore[attr-defined]
    viewer.user_permissions.add(Permission.objects.get(codename="view_cdrreconciliation"))
    client.force_login(viewer)
    assert client.get(API).status_code == 403


def test_the_rest_endpoint_is_in_the_openapi_schema(staff_client: Client) -> None:
    schema = staff_client.get("/api/schema/", {"format": "json"}).json()
    assert "/finance/api/v1/cdrs/export" in schema["paths"]


def test_a_bad_filter_is_a_clear_400_not_a_500(finance_client: Client) -> None:
    response = finance_client.get(API, {"file_format": "pdf", "date_from": "yesterday"})
    assert response.status_code == 400
    assert "file_format" in response.json()
    assert "date_from" in response.json()


def test_the_cdr_list_exports_the_selected_cdrs_in_the_screen_order(finance_client: Client) -> None:
    original, credit, replacement = chain()
    response = finance_client.post(
        "/admin/charging_sessions/cdr/",
        {"action": "export_csv", "_selected_action": [replacement.pk, original.pk, credit.pk]},
    )
    rows = list(csv.DictReader(io.StringIO(body_of(response).decode())))
    # The CDR list's order: newest end first, then newest made (the three share their end).
    assert [row["cdr_id"] for row in rows] == [replacement.cdr_id, credit.cdr_id, original.cdr_id]


def test_the_cdr_list_offers_no_export_without_the_permission(staff_client: Client, client: Client) -> None:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_cdr"))
    client.force_login(user)
    cdr = CdrFactory()
    response = client.post(
        "/admin/charging_sessions/cdr/", {"action": "export_csv", "_selected_action": [cdr.pk]}
    )
    assert not hasattr(response, "streaming_content")
