"""The Payments receiver over HTTP (mod_payments): terminals and financial advice confirmations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from partners.models import Partner
from payments.models import FinancialAdviceConfirmation, PaymentTerminal
from tests.factories import CdrFactory, ChargingSessionFactory, EvseFactory, LocationFactory, PartnerFactory
from tests.flow.conftest import ocpi_client, post_json, send_json

pytestmark = pytest.mark.django_db

TERMINALS = "/ocpi/{version}/payments/terminals"
FACS = "/ocpi/{version}/payments/financial-advice-confirmations"


@pytest.fixture
def partner(db: None) -> Partner:
    return PartnerFactory(name="Payter")


def fac_body(fac_id: str = "FAC1", reference: str = "AUTH-1", **changes: Any) -> dict[str, Any]:
    body = {
        "id": fac_id,
        "authorization_reference": reference,
        "total_costs": {"excl_vat": "4.13", "incl_vat": "5.00"},
        "currency": "EUR",
        "eft_data": ["Mastercard", "**** 1234"],
        "capture_status_code": "SUCCESS",
        "last_updated": "2026-03-01T10:00:00Z",
    }
    body.update(changes)
    return body


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_a_minimal_terminal_is_created_and_gets_a_last_updated(partner: Partner, version: str) -> None:
    client = ocpi_client(partner)

    response = post_json(client, TERMINALS.format(version=version), {"terminal_id": "T1"})
    got = client.get(TERMINALS.format(version=version) + "/T1")

    assert response.json()["status_code"] == 1000
    data = got.json()["data"]
    assert data["terminal_id"] == "T1"
    assert data["location_ids"] == []
    assert data["last_updated"].endswith("Z")


def test_a_terminal_patch_assigns_locations_and_evses(partner: Partner) -> None:
    evse = EvseFactory()
    client = ocpi_client(partner)
    post_json(client, TERMINALS.format(version="2.3.0"), {"terminal_id": "T1", "reference": "APOLLO-1"})

    response = send_json(
        client,
        "patch",
        TERMINALS.format(version="2.3.0") + "/T1",
        {"location_ids": [evse.location.location_id], "evse_uids": [evse.uid]},
    )

    assert response.json()["status_code"] == 1000
    data = client.get(TERMINALS.format(version="2.3.0") + "/T1").json()["data"]
    assert data["location_ids"] == [evse.location.location_id]
    assert data["evse_uids"] == [evse.uid]
    assert data["reference"] == "APOLLO-1"


def test_a_put_replaces_the_terminal(partner: Partner) -> None:
    client = ocpi_client(partner)
    post_json(client, TERMINALS.format(version="2.3.0"), {"terminal_id": "T1", "reference": "APOLLO-1"})

    send_json(
        client,
        "put",
        TERMINALS.format(version="2.3.0") + "/T1",
        {"terminal_id": "T1", "customer_reference": "CUST-9", "invoice_creator": "CPO"},
    )

    terminal = PaymentTerminal.objects.get()
    assert (terminal.reference, terminal.customer_reference, terminal.invoice_creator) == (
        "",
        "CUST-9",
        "CPO",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"terminal_id": "T2", "location_ids": ["NOWHERE"]}, "location_ids"),
        ({"terminal_id": "T2", "invoice_creator": "BANK"}, "invoice_creator"),
        ({"terminal_id": 7}, "terminal_id"),
        ({"reference": "no id"}, "terminal_id"),
        ({"terminal_id": "T2", "coordinates": {"latitude": "x"}}, "coordinates"),
    ],
)
def test_a_bad_terminal_gets_2001_and_stores_nothing(
    partner: Partner, body: dict[str, Any], field: str
) -> None:
    response = post_json(ocpi_client(partner), TERMINALS.format(version="2.3.0"), body)

    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]
    assert not PaymentTerminal.objects.exists()


def test_a_terminal_of_another_partner_is_unknown(partner: Partner) -> None:
    post_json(ocpi_client(partner), TERMINALS.format(version="2.3.0"), {"terminal_id": "T1"})
    stranger = PartnerFactory(name="Stranger")

    get = ocpi_client(stranger).get(TERMINALS.format(version="2.3.0") + "/T1")
    patch = send_json(
        ocpi_client(stranger), "patch", TERMINALS.format(version="2.3.0") + "/T1", {"city": "X"}
    )

    assert get.status_code == 404
    assert patch.status_code == 404
    assert PaymentTerminal.objects.get().city == ""


@pytest.mark.parametrize(
    "total_costs",
    [
        {"excl_vat": "4.13", "incl_vat": "5.00"},
        {"before_taxes": "4.13", "taxes": [{"name": "VAT", "percentage": 21, "amount": "0.87"}]},
    ],
)
def test_a_fac_in_either_price_shape_is_linked_to_session_and_cdr(
    partner: Partner, total_costs: dict[str, Any]
) -> None:
    session = ChargingSessionFactory(partner=partner, authorization_reference="AUTH-1")
    cdr = CdrFactory(session=session)

    response = post_json(
        ocpi_client(partner), FACS.format(version="2.3.0"), fac_body(total_costs=total_costs)
    )

    assert response.json()["status_code"] == 1000
    fac = FinancialAdviceConfirmation.objects.get()
    assert (fac.session, fac.cdr) == (session, cdr)
    assert fac.total_costs_incl_vat == Decimal("5.00")
    assert fac.is_matched


def test_a_fac_posted_again_is_updated_not_duplicated(partner: Partner) -> None:
    client = ocpi_client(partner)
    post_json(client, FACS.format(version="2.2.1"), fac_body(capture_status_code="PARTIAL_SUCCESS"))

    post_json(client, FACS.format(version="2.2.1"), fac_body(capture_status_code="SUCCESS"))

    assert FinancialAdviceConfirmation.objects.get().capture_status_code == "SUCCESS"


def test_a_fac_for_an_unknown_reference_is_kept_unmatched(partner: Partner) -> None:
    response = post_json(ocpi_client(partner), FACS.format(version="2.3.0"), fac_body(reference="NOBODY"))

    assert response.json()["status_code"] == 1000
    fac = FinancialAdviceConfirmation.objects.get()
    assert not fac.is_matched


def test_a_fac_never_links_to_another_partners_session(partner: Partner) -> None:
    ChargingSessionFactory(partner=PartnerFactory(name="Other"), authorization_reference="AUTH-1")

    post_json(ocpi_client(partner), FACS.format(version="2.3.0"), fac_body())

    assert not FinancialAdviceConfirmation.objects.get().is_matched


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_a_fac_is_read_back_in_the_price_shape_of_the_version(partner: Partner, version: str) -> None:
    client = ocpi_client(partner)
    post_json(client, FACS.format(version=version), fac_body())

    data = client.get(FACS.format(version=version) + "/FAC1").json()["data"]

    if version == "2.2.1":
        assert data["total_costs"] == {"excl_vat": 4.13, "incl_vat": 5}
    else:
        assert data["total_costs"]["before_taxes"] == 4.13
    assert data["eft_data"] == ["Mastercard", "**** 1234"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total_costs": {"incl_vat": "5"}}, "total_costs"),
        ({"total_costs": {"excl_vat": "-1"}}, "total_costs"),
        ({"eft_data": []}, "eft_data"),
        ({"capture_status_code": "MAYBE"}, "capture_status_code"),
        ({"currency": "euro"}, "currency"),
        ({"authorization_reference": None}, "authorization_reference"),
    ],
)
def test_a_bad_fac_gets_2001_and_stores_nothing(partner: Partner, change: dict[str, Any], field: str) -> None:
    body = {key: value for key, value in fac_body(**change).items() if value is not None}

    response = post_json(ocpi_client(partner), FACS.format(version="2.3.0"), body)

    assert response.status_code == 200
    assert response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]
    assert not FinancialAdviceConfirmation.objects.exists()


def test_a_fac_of_another_partner_is_unknown(partner: Partner) -> None:
    post_json(ocpi_client(partner), FACS.format(version="2.3.0"), fac_body())

    response = ocpi_client(PartnerFactory(name="Stranger")).get(FACS.format(version="2.3.0") + "/FAC1")

    assert response.status_code == 404


def test_payments_need_a_valid_credentials_token(partner: Partner) -> None:
    LocationFactory()

    assert post_json(ocpi_client(), FACS.format(version="2.3.0"), fac_body()).status_code == 401
    assert not FinancialAdviceConfirmation.objects.exists()
