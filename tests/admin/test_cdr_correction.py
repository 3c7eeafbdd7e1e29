"""Staff correct a CDR the OCPI way: a credit CDR, and a corrected CDR when totals are given."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from partners.models import PartnerEndpoint
from sessions.models import Cdr
from tests.factories import CdrFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/charging_sessions/cdr/"


def correct(client: Client, cdr: Cdr, **fields: str) -> object:
    return client.post(
        CHANGELIST,
        {"action": "credit_and_correct", "_selected_action": [cdr.pk], "apply": "1", **fields},
        follow=True,
    )


def test_the_action_first_asks_for_the_reason_and_the_corrected_totals(staff_client: Client) -> None:
    cdr = CdrFactory()
    response = staff_client.post(CHANGELIST, {"action": "credit_and_correct", "_selected_action": [cdr.pk]})
    assert response.status_code == 200
    assert b"Create the credit CDR" in response.content
    assert Cdr.objects.count() == 1


def test_it_credits_and_replaces_a_cdr(staff_client: Client) -> None:
    cdr = CdrFactory(total_cost_excl_vat=Decimal("4.88"), total_cost_incl_vat=Decimal("5.90"))

    response = correct(
        staff_client,
        cdr,
        remark="Charger overcounted",
        total_cost_excl_vat="4.00",
        total_cost_incl_vat="4.84",
    )

    assert b"Credit CDR" in response.content
    credit = Cdr.objects.get(credit=True)
    corrected = Cdr.objects.exclude(pk=cdr.pk).get(credit=None)
    assert credit.credit_reference_id == cdr.cdr_id
    assert credit.total_cost_incl_vat == Decimal("-5.90")
    assert (corrected.total_cost_excl_vat, corrected.total_cost_incl_vat) == (
        Decimal("4.00"),
        Decimal("4.84"),
    )
    assert sum(Decimal(line["amount"]) for line in corrected.total_cost_taxes) == Decimal("0.84")
    assert corrected.remark == "Charger overcounted"


def test_it_credits_only_when_no_totals_are_given(staff_client: Client) -> None:
    cdr = CdrFactory()
    correct(staff_client, cdr, remark="Goodwill: free session")
    assert Cdr.objects.count() == 2
    assert Cdr.objects.filter(credit=True, credit_reference_id=cdr.cdr_id).exists()


def test_it_refuses_half_given_totals_and_writes_nothing(staff_client: Client) -> None:
    cdr = CdrFactory()
    response = correct(staff_client, cdr, remark="typo", total_cost_excl_vat="4.00")
    assert b"Give both corrected totals" in response.content
    assert Cdr.objects.count() == 1


def test_a_cdr_is_credited_only_once(staff_client: Client) -> None:
    cdr = CdrFactory()
    correct(staff_client, cdr, remark="first")
    response = correct(staff_client, cdr, remark="second")
    assert b"already been credited" in response.content
    assert Cdr.objects.filter(credit=True).count() == 1


def connect_cdrs_receiver(cdr: Cdr) -> None:
    PartnerEndpoint.objects.create(
        partner=cdr.partner,
        module="cdrs",
        interface_role=PartnerEndpoint.InterfaceRole.RECEIVER,
        url="https://emsp.example.com/ocpi/2.2.1/cdrs",
    )


def test_it_warns_before_it_runs_when_the_partner_is_not_connected(staff_client: Client) -> None:
    cdr = CdrFactory()  # the partner lists no CDRs receiver endpoint
    response = staff_client.post(CHANGELIST, {"action": "credit_and_correct", "_selected_action": [cdr.pk]})
    assert b"Nothing will be sent" in response.content
    assert cdr.partner.name.encode() in response.content


def test_it_names_the_receiver_before_it_runs_when_the_partner_is_connected(staff_client: Client) -> None:
    cdr = CdrFactory()
    connect_cdrs_receiver(cdr)
    response = staff_client.post(CHANGELIST, {"action": "credit_and_correct", "_selected_action": [cdr.pk]})
    assert b"Nothing will be sent" not in response.content
    assert f"Both will be sent to {cdr.partner.name}".encode() in response.content


def test_it_says_what_was_queued_for_whom(staff_client: Client) -> None:
    cdr = CdrFactory()
    connect_cdrs_receiver(cdr)

    response = correct(
        staff_client, cdr, remark="Overcounted", total_cost_excl_vat="4.00", total_cost_incl_vat="4.84"
    )

    body = response.content.decode()
    assert f"CDR {cdr.cdr_id}-C1: POST to {cdr.partner.name} (pending)" in body
    assert f"CDR {cdr.cdr_id}-R1: POST to {cdr.partner.name} (pending)" in body


def test_it_says_nothing_was_sent_when_the_partner_is_not_connected(staff_client: Client) -> None:
    cdr = CdrFactory()
    response = correct(staff_client, cdr, remark="Goodwill")
    assert b"Nothing was sent" in response.content


def test_the_form_is_laid_out_as_an_admin_form_with_the_cdr_as_sent_beside_it(staff_client: Client) -> None:
    cdr = CdrFactory(total_cost_excl_vat=Decimal("4.88"), total_cost_incl_vat=Decimal("5.90"))

    page = correct(staff_client, cdr, remark="Charger overcounted", total_cost_excl_vat="4.00")

    html = page.content.decode()  # type: ignore[attr-defined]
    assert "admin/css/forms.css" in html
    assert html.count('<fieldset class="module aligned">') == 2
    assert f"CDR {cdr.cdr_id} as sent" in html
    assert "5.90 EUR" in html
    # Labels as the admin writes them, each field in its row with its help and its errors.
    assert 'class="required">Remark:</label>' in html
    assert "Corrected total excl. taxes:</label>" in html
    assert '<p class="errornote">' in html
    assert "Give both corrected totals, or neither to credit only." in html
    assert f'href="/admin/charging_sessions/cdr/{cdr.pk}/change/" class="closelink">Cancel</a>' in html
