"""Staff add charging backends and tune simulated chargers in the admin."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from chargers.models import ChargingBackend, SimulatedCharger
from tests.factories import EvseFactory

pytestmark = pytest.mark.django_db


# The inline of served EVSEs, empty.
NO_EVSES = {"served_evses-TOTAL_FORMS": "0", "served_evses-INITIAL_FORMS": "0"}


def shown_token(response: object) -> str:
    texts = [str(message) for message in get_messages(response.wsgi_request)]
    found = [re.search(r"[Tt]oken for [^:]+: (\S+)", text) for text in texts]
    return next(match.group(1) for match in found if match)


def test_adding_a_backend_shows_its_token_once_and_the_token_opens_the_charger_api(
    staff_client: Client,
) -> None:
    response = staff_client.post(
        "/admin/chargers/chargingbackend/add/", {"name": "Central system", "is_active": "on", **NO_EVSES}
    )

    assert response.status_code == 302
    backend = ChargingBackend.objects.get(name="Central system")
    token = shown_token(response)
    answer = Client().post(
        "/chargers/api/v1/sessions/NO-SUCH-SESSION/stopped",
        {},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    stranger = Client().post(
        "/chargers/api/v1/sessions/NO-SUCH-SESSION/stopped",
        {},
        content_type="application/json",
        headers={"Authorization": "Bearer not-the-token"},
    )
    # With the shown token the caller is known and only the session is not.
    assert stranger.status_code in (401, 403)
    assert answer.status_code in (400, 404)
    assert token not in backend.token_hash


def test_a_backend_added_with_an_evse_serves_it(staff_client: Client) -> None:
    evse = EvseFactory()

    response = staff_client.post(
        "/admin/chargers/chargingbackend/add/",
        {
            "name": "Central system",
            "is_active": "on",
            "served_evses-TOTAL_FORMS": "1",
            "served_evses-INITIAL_FORMS": "0",
            "served_evses-0-evse": evse.pk,
        },
    )

    assert response.status_code == 302
    assert list(ChargingBackend.objects.get(name="Central system").evses.all()) == [evse]


def test_rotating_a_token_retires_the_old_one(staff_client: Client) -> None:
    staff_client.post(
        "/admin/chargers/chargingbackend/add/", {"name": "Central system", "is_active": "on", **NO_EVSES}
    )
    backend = ChargingBackend.objects.get(name="Central system")
    old_hash = backend.token_hash

    response = staff_client.post(
        "/admin/chargers/chargingbackend/",
        {"action": "rotate_token", "_selected_action": [backend.pk]},
    )

    backend.refresh_from_db()
    assert response.status_code == 302
    assert backend.token_hash != old_hash


def test_staff_change_a_simulated_chargers_behaviour(staff_client: Client) -> None:
    charger = SimulatedCharger.objects.create(evse=EvseFactory())
    response = staff_client.post(
        f"/admin/chargers/simulatedcharger/{charger.pk}/change/",
        {"evse": charger.evse_id, "behaviour": "REJECT", "power_kw": "22.000", "voltage_v": "400"},
    )
    assert response.status_code == 302
    charger.refresh_from_db()
    assert charger.behaviour == SimulatedCharger.Behaviour.REJECT
