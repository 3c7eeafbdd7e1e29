"""Finance sees each CDR beside Payter's capture, and exports exactly what it filtered."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from finance.selectors import (
    ReconciliationStatus,
    captures_without_cdr,
    cdrs_with_reconciliation,
    reconciliation_totals,
)
from sessions.models import Cdr
from tests.factories import CdrFactory, FinancialAdviceConfirmationFactory

pytestmark = pytest.mark.django_db


def status_of(cdr: Cdr) -> str:
    return cdrs_with_reconciliation().get(pk=cdr.pk).reconciliation_status


def capture_for(cdr: Cdr, **fields: object) -> object:
    defaults = {
        "partner": cdr.partner,
        "authorization_reference": cdr.authorization_reference,
        "total_costs_incl_vat": cdr.total_cost_incl_vat,
        "currency": cdr.currency,
    }
    return FinancialAdviceConfirmationFactory(**{**defaults, **fields})


def test_a_cdr_captured_for_its_total_is_matched() -> None:
    cdr = CdrFactory()
    capture_for(cdr)
    assert status_of(cdr) == ReconciliationStatus.MATCHED


def test_a_capture_of_another_amount_is_a_mismatch() -> None:
    cdr = CdrFactory(total_cost_incl_vat=Decimal("5.90"))
    capture_for(cdr, total_costs_incl_vat=Decimal("5.89"))
    assert status_of(cdr) == ReconciliationStatus.AMOUNT_MISMATCH


def test_a_failed_capture_is_reported_as_failed() -> None:
    cdr = CdrFactory()
    capture_for(cdr, capture_status_code="FAILED")
    assert status_of(cdr) == ReconciliationStatus.CAPTURE_FAILED


def test_the_newest_confirmation_decides() -> None:
    cdr = CdrFactory()
    capture_for(cdr, capture_status_code="FAILED")
    capture_for(cdr)
    assert status_of(cdr) == ReconciliationStatus.MATCHED


def test_a_cdr_without_capture_awaits_it() -> None:
    assert status_of(CdrFactory()) == ReconciliationStatus.AWAITING_CAPTURE


def test_a_capture_of_another_partner_does_not_count() -> None:
    cdr = CdrFactory()
    FinancialAdviceConfirmationFactory(authorization_reference=cdr.authorization_reference)
    assert status_of(cdr) == ReconciliationStatus.AWAITING_CAPTURE


def test_a_cdr_without_authorization_reference_is_not_a_card_payment() -> None:
    cdr = CdrFactory(authorization_reference="")
    assert status_of(cdr) == ReconciliationStatus.NOT_CARD_PAYMENT


def test_captures_without_a_cdr_are_listed() -> None:
    cdr = CdrFactory()
    capture_for(cdr)
    orphan = FinancialAdviceConfirmationFactory(authorization_reference="NO-SUCH-SESSION")
    assert list(captures_without_cdr()) == [orphan]


def test_totals_compare_billed_and_captured_per_currency() -> None:
    first = CdrFactory(total_cost_incl_vat=Decimal("5.90"))
    capture_for(first, total_costs_incl_vat=Decimal("5.00"), capture_status_code="PARTIAL_SUCCESS")
    CdrFactory(total_cost_incl_vat=Decimal("2.10"))
    totals = reconciliation_totals(cdrs_with_reconciliation())
    assert totals == {
        "EUR": {
            "billed": Decimal("8.00"),
            "captured": Decimal("5.00"),
            "difference": Decimal("-3.00"),
            "refund_due": Decimal("0.00"),
        }
    }


def test_finance_downloads_the_filtered_view_as_csv(finance_client: Client) -> None:
    matched = CdrFactory(total_cost_incl_vat=Decimal("5.90"))
    capture_for(matched)
    CdrFactory()  # awaiting capture: filtered out below

    response = finance_client.get(
        "/admin/finance/cdrreconciliation/export/", {"reconciliation": ReconciliationStatus.MATCHED}
    )

    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["cdr_id"] for row in rows] == [matched.cdr_id]
    assert rows[0]["total_incl_vat"] == "5.90"
    assert rows[0]["captured_incl_vat"] == "5.90"
    assert rows[0]["reconciliation_status"] == "MATCHED"


def test_the_export_neutralises_spreadsheet_formulas(finance_client: Client) -> None:
    CdrFactory(authorization_reference="=HYPERLINK(1)")
    response = finance_client.get("/admin/finance/cdrreconciliation/export/")
    body = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK(1)" in body


def test_the_reconciliation_page_shows_totals_and_statuses(finance_client: Client) -> None:
    cdr = CdrFactory(total_cost_incl_vat=Decimal("5.90"))
    capture_for(cdr)
    response = finance_client.get("/admin/finance/cdrreconciliation/")
    assert response.status_code == 200
    assert b"Captured as billed" in response.content
    assert b"Download CSV of this view" in response.content
    assert response.context["reconciliation_totals"]["EUR"]["difference"] == Decimal(0)


def test_the_reconciliation_list_needs_a_constant_number_of_queries(
    finance_client: Client, django_assert_max_num_queries: object
) -> None:
    for _ in range(3):
        capture_for(CdrFactory())
    with django_assert_max_num_queries(12) as few:
        finance_client.get("/admin/finance/cdrreconciliation/")
    for _ in range(20):
        capture_for(CdrFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        finance_client.get("/admin/finance/cdrreconciliation/")


def test_finance_cannot_change_cdrs(finance_client: Client) -> None:
    cdr = CdrFactory()
    response = finance_client.post(f"/admin/finance/cdrreconciliation/{cdr.pk}/change/", {"remark": "x"})
    assert response.status_code == 403


def test_someone_without_the_permission_gets_no_export(client: Client, django_user_model: object) -> None:
    user = django_user_model.objects.create_user("clerk", password="correct horse battery", is_staff=True)
    client.force_login(user)
    assert client.get("/admin/finance/cdrreconciliation/export/").status_code == 403
