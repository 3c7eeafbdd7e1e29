"""Redis down: a change staff make is committed and answered normally; its push goes out later."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from locations.models import Location
from partners.models import Party
from ptp_simulator.process import SimulatorProcess
from pushes import retries
from pushes.models import OutboxMessage
from tests.admin.test_location_admin import ADD_LOCATION, new_location_data
from tests.broker import broker_unreachable
from tests.factories import LocationFactory


def location_key(location: Location) -> str:
    return f"{location.party.country_code}/{location.party.party_id}/{location.location_id}"


def test_an_admin_save_with_redis_down_is_committed_answered_and_pushed_by_the_periodic_requeue(
    transactional_db: None,
    payter: Any,
    sim: SimulatorProcess,
    staff_client: Client,
    settings: Any,
    scrape: Any,
) -> None:
    party = Party.objects.create(country_code="NL", party_id="TST", name="Test Charging")
    data = new_location_data(staff_client, party)
    failures_before = scrape("cpo_enqueue_failures_total", {"work": "push delivery"})

    with broker_unreachable(settings):
        response = staff_client.post(ADD_LOCATION, data)

    assert response.status_code == 302
    location = Location.objects.get(party=party, location_id="TEST01")
    message = OutboxMessage.objects.get(copy__object_type="location", copy__object_id=str(location.pk))
    assert message.state == "PENDING"
    # Logged and counted in the metrics; the outbox row is the record of what is owed.
    assert scrape("cpo_enqueue_failures_total", {"work": "push delivery"}) > failures_before

    retries.messages_requeue_due()  # the beat, with Redis back

    message.refresh_from_db()
    assert message.state == "DELIVERED"
    assert sim.control.received("locations", location_key(location))["object"]["name"] == "Station square"


def test_withdrawing_a_location_with_redis_down_is_committed_answered_and_pushed_later(
    transactional_db: None, payter: Any, sim: SimulatorProcess, staff_client: Client, settings: Any
) -> None:
    location = LocationFactory()  # delivered in process, Redis up
    assert sim.control.received("locations", location_key(location))

    with broker_unreachable(settings):
        response = staff_client.post(
            reverse("admin:locations_location_changelist"),
            {"action": "withdraw_locations", "_selected_action": [str(location.pk)]},
        )

    assert response.status_code == 302
    location.refresh_from_db()
    assert location.publish is False
    pending = OutboxMessage.objects.filter(state="PENDING")
    assert pending.count() == 1

    retries.messages_requeue_due()

    assert not OutboxMessage.objects.filter(state__in=("PENDING", "IN_FLIGHT")).exists()
    assert sim.control.received("locations", location_key(location))["object"]["publish"] is False


def test_the_beat_with_redis_down_raises_nothing_and_leaves_the_rows_to_its_next_run(
    transactional_db: None, payter: Any, sim: SimulatorProcess, settings: Any
) -> None:
    with broker_unreachable(settings):
        location = LocationFactory()  # committed (autocommit); its task could not be enqueued
        assert retries.messages_requeue_due() == 0
        message = OutboxMessage.objects.get()
        assert message.requeued_at is None  # not noted as enqueued: the next run takes it

    retries.messages_requeue_due()

    message.refresh_from_db()
    assert message.state == "DELIVERED"
    assert sim.control.received("locations", location_key(location))
