"""The Finance group sees and exports CDRs, captures and the reconciliation, and may credit and
correct a CDR; nothing more. Each right is checked in the admin and, for exports, over REST."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from sessions.models import Cdr
from tests.factories import CdrFactory, FinancialAdviceConfirmationFactory, LocationFactory, PartnerFactory

pytestmark = pytest.mark.django_db


def test_the_group_holds_exactly_the_finance_permissions() -> None:
    codenames = set(
        Group.objects.get(name="Finance").permissions.values_list("content_type__app_label", "codename")
    )
    assert codenames == {
        ("finance", "view_cdrreconciliation"),
        ("finance", "export_cdrs"),
        ("charging_sessions", "view_cdr"),
        ("charging_sessions", "add_cdr"),
        ("payments", "view_financialadviceconfirmation"),
        ("finance", "view_exportjob"),
    }


def test_finance_sees_the_cdr_page_with_its_captures(finance_client: Client) -> None:
    cdr = CdrFactory()
    capture = FinancialAdviceConfirmationFactory(
        partner=cdr.partner, authorization_reference=cdr.authorization_reference, cdr=cdr
    )
    response = finance_client.get(f"/admin/charging_sessions/cdr/{cdr.pk}/change/")
    assert response.status_code == 200
    assert capture.fac_id.encode() in response.content


def test_finance_sees_the_captures(finance_client: Client) -> None:
    capture = FinancialAdviceConfirmationFactory()
    response = finance_client.get("/admin/payments/financialadviceconfirmation/")
    assert response.status_code == 200
    assert capture.fac_id.encode() in response.content


def test_finance_sees_the_reconciliation_and_the_captures_without_cdr(finance_client: Client) -> None:
    assert finance_client.get("/admin/finance/cdrreconciliation/").status_code == 200
    assert finance_client.get("/admin/finance/cdrreconciliation/captures-without-cdr/").status_code == 200


def test_finance_may_credit_and_correct(finance_client: Client) -> None:
    cdr = CdrFactory(total_cost_incl_vat=Decimal("5.90"))
    finance_client.post(
        "/admin/charging_sessions/cdr/",
        {"action": "credit_and_correct", "_selected_action": [cdr.pk], "apply": "1", "remark": "Goodwill"},
    )
    assert Cdr.objects.filter(credit=True, credit_reference_id=cdr.cdr_id).exists()


def test_finance_may_export_over_rest(finance_client: Client) -> None:
    CdrFactory()
    assert finance_client.get("/finance/api/v1/cdrs/export").status_code == 200


def test_finance_changes_nothing_else(finance_client: Client) -> None:
    cdr = CdrFactory()
    location = LocationFactory()
    partner = PartnerFactory()
    assert finance_client.post(f"/admin/charging_sessions/cdr/{cdr.pk}/change/", {}).status_code == 403
    assert finance_client.get(f"/admin/locations/location/{location.pk}/change/").status_code == 403
    assert finance_client.get(f"/admin/partners/partner/{partner.pk}/change/").status_code == 403
    assert finance_client.get("/admin/partners/partner/").status_code == 403
    assert finance_client.get("/admin/auth/user/").status_code == 403


def test_finance_sees_token_uids_masked(finance_client: Client) -> None:
    CdrFactory(session__token_uid="04A1B2C3D4E5F6")
    body = b"".join(finance_client.get("/finance/api/v1/cdrs/export").streaming_content)
    assert b"04A1B2C3D4E5F6" not in body
    assert b"**********E5F6" in body


def test_a_stranger_gets_nothing_over_rest(client: Client) -> None:
    assert client.get("/finance/api/v1/cdrs/export").status_code in (401, 403)
