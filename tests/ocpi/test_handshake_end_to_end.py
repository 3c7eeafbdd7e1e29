"""The credentials handshake over real HTTP with the PTP simulator, in both directions.

The portal runs as pytest-django's live server; the simulator is a separate process on
loopback. After the handshake each side calls the other with the token it received, tokens
rotate with PUT, and DELETE ends the registration (credentials.asciidoc).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ocpi_api.client import OcpiClient, OcpiHttpError
from ocpi_api.handshake import partner_credentials_update, partner_register, partner_unregister
from ocpi_api.models import InboundRequestLog, OutboundRequestLog
from ocpi_api.transport.tokens import authorization_header
from partners.models import Partner, hash_token
from partners.services import partner_create, partner_issue_token_a
from ptp_simulator.process import SimulatorProcess
from tests.factories import ConnectorFactory, EvseFactory, LocationFactory, PartyFactory

pytestmark = pytest.mark.django_db(transaction=True)

SIM_TOKEN_A = "simulator-token-a-for-the-cpo"


@pytest.fixture
def portal(live_server: Any, settings: Any) -> str:
    """The portal's versions URL, as partners reach it."""
    settings.OCPI_BASE_URL = live_server.url + "/ocpi"
    settings.ALLOWED_HOSTS = ["*"]
    return live_server.url + "/ocpi/versions"


@pytest.fixture
def simulator() -> Iterator[SimulatorProcess]:
    with SimulatorProcess(token_a=SIM_TOKEN_A) as sim:
        yield sim


@pytest.fixture
def cpo_data() -> None:
    party = PartyFactory(country_code="NL", party_id="CPO", name="Example CPO")
    for _ in range(3):
        ConnectorFactory(evse=EvseFactory(location=LocationFactory(party=party)))


def _status_with_token(url: str, token: str) -> int:
    return httpx.get(url, headers={"Authorization": authorization_header(token)}, timeout=10).status_code


@pytest.mark.parametrize("version", ["2.2.1", "2.3.0"])
def test_the_simulator_registers_with_the_portal_and_both_sides_then_use_token_c(
    portal: str, simulator: SimulatorProcess, cpo_data: None, version: str
) -> None:
    partner, token_a = partner_create(name="Payter")

    answer = simulator.control.action("register", versions_url=portal, token=token_a, version=version)

    partner.refresh_from_db()
    peer = answer["peer"]
    assert partner.status == Partner.Status.REGISTERED
    assert partner.version == version
    assert partner.token_a_hash == ""  # token A is void after registration
    assert partner.token_c_hash == hash_token(peer["token"])
    assert {(r.role, r.country_code, r.party_id) for r in partner.roles.all()} == {("PTP", "NL", "PTR")}
    assert partner.endpoints.filter(module="locations", interface_role="RECEIVER").exists()
    # The simulator crawls our locations with token C.
    crawl = simulator.control.action("crawl", modules=["locations"])["results"]["locations"]
    assert crawl["complete"]
    assert crawl["object_count"] == 3
    assert not crawl["warnings"]
    # We call the simulator with the token it gave us (token B).
    client = OcpiClient.for_partner(partner)
    assert client.get(client.endpoint_url("credentials", "SENDER")).data["roles"][0]["role"] == "PTP"
    assert _status_with_token(portal, token_a) == 401
    assert InboundRequestLog.objects.filter(partner=partner, http_status=200).exists()
    assert OutboundRequestLog.objects.filter(partner=partner, http_status=200).exists()


def test_the_simulator_rotates_its_credentials_and_then_unregisters(
    portal: str, simulator: SimulatorProcess, cpo_data: None
) -> None:
    partner, token_a = partner_create(name="Payter")
    first_c = simulator.control.action("register", versions_url=portal, token=token_a)["peer"]["token"]

    second_c = simulator.control.action("update-credentials")["peer"]["token"]

    assert second_c != first_c
    assert _status_with_token(portal, first_c) == 401
    assert _status_with_token(portal, second_c) == 200
    crawl = simulator.control.action("crawl", modules=["locations"])["results"]["locations"]
    assert crawl["object_count"] == 3

    simulator.control.action("unregister")

    partner.refresh_from_db()
    assert partner.status == Partner.Status.UNREGISTERED
    assert _status_with_token(portal, second_c) == 401


def test_the_portal_registers_with_the_simulator_rotates_and_unregisters(
    portal: str, simulator: SimulatorProcess, cpo_data: None
) -> None:
    partner = Partner.objects.create(name="Payter")

    partner_register(partner=partner, versions_url=simulator.versions_url, token_a=SIM_TOKEN_A)

    partner.refresh_from_db()
    assert partner.status == Partner.Status.REGISTERED
    assert partner.version == "2.3.0"  # the highest version both speak
    assert partner.token_b
    assert partner.token_b != SIM_TOKEN_A
    peer = simulator.control.state()["credentials"]["peer"]
    # The simulator keeps the token we gave it and crawls us with it.
    assert partner.token_c_hash == hash_token(peer["token"])
    crawl = simulator.control.action("crawl", modules=["locations"])["results"]["locations"]
    assert crawl["complete"]
    assert crawl["object_count"] == 3
    client = OcpiClient.for_partner(partner)
    assert client.get(client.endpoint_url("credentials", "SENDER")).status_code == 1000

    old_b = partner.token_b
    partner_credentials_update(partner=partner)
    partner.refresh_from_db()
    assert partner.token_b != old_b
    with pytest.raises(OcpiHttpError) as rejected:
        OcpiClient(token=old_b).get(simulator.versions_url)
    assert rejected.value.http_status == 401
    crawl = simulator.control.action("crawl", modules=["locations"])["results"]["locations"]
    assert crawl["object_count"] == 3

    partner_unregister(partner=partner)
    partner.refresh_from_db()
    assert partner.status == Partner.Status.UNREGISTERED
    assert simulator.control.state()["credentials"]["peer"] is None

    # Registering again after unregistering works too.
    partner_register(partner=partner, versions_url=simulator.versions_url, token_a=SIM_TOKEN_A)
    partner.refresh_from_db()
    assert partner.status == Partner.Status.REGISTERED
    crawl = simulator.control.action("crawl", modules=["locations"])["results"]["locations"]
    assert crawl["object_count"] == 3


def test_an_unregistered_partner_registers_again_with_a_new_token_a(
    portal: str, simulator: SimulatorProcess, cpo_data: None
) -> None:
    partner, token_a = partner_create(name="Payter")
    simulator.control.action("register", versions_url=portal, token=token_a)
    simulator.control.action("unregister")
    partner.refresh_from_db()
    assert partner.status == Partner.Status.UNREGISTERED

    second_a = partner_issue_token_a(partner=partner)
    token_c = simulator.control.action("register", versions_url=portal, token=second_a)["peer"]["token"]

    partner.refresh_from_db()
    assert partner.status == Partner.Status.REGISTERED
    assert _status_with_token(portal, token_c) == 200
    assert _status_with_token(portal, second_a) == 401


def test_staff_register_with_the_simulator_and_unregister_from_the_admin(
    portal: str, simulator: SimulatorProcess, cpo_data: None, staff_client: Any
) -> None:
    from django.urls import reverse

    changelist = reverse("admin:partners_partner_changelist")
    response = staff_client.post(
        reverse("admin:partners_partner_add"),
        {
            "name": "Payter",
            "status": "PLANNED",
            "versions_url": simulator.versions_url,
            "partner_token_a": SIM_TOKEN_A,
            "version": "",
            "customer_reference": "",
            "roles-TOTAL_FORMS": "0",
            "roles-INITIAL_FORMS": "0",
            "endpoints-TOTAL_FORMS": "0",
            "endpoints-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content
    partner = Partner.objects.get(name="Payter")

    staff_client.post(changelist, {"action": "register_with_partner", "_selected_action": [partner.pk]})
    partner.refresh_from_db()
    assert partner.status == Partner.Status.REGISTERED
    assert simulator.control.state()["credentials"]["peer"] is not None

    staff_client.post(changelist, {"action": "unregister", "_selected_action": [partner.pk]})
    partner.refresh_from_db()
    assert partner.status == Partner.Status.UNREGISTERED
    assert simulator.control.state()["credentials"]["peer"] is None


def test_the_request_logs_keep_no_credentials_token(
    portal: str, simulator: SimulatorProcess, cpo_data: None
) -> None:
    partner, token_a = partner_create(name="Payter")
    token_c = simulator.control.action("register", versions_url=portal, token=token_a)["peer"]["token"]
    partner.refresh_from_db()

    logged = [
        body
        for model in (InboundRequestLog, OutboundRequestLog)
        for pair in model.objects.values_list("request_body", "response_body")
        for body in pair
    ]
    assert any('"token":"[redacted]"' in body for body in logged)
    assert not any(token_c in body or partner.token_b in body for body in logged)
