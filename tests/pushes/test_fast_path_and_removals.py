"""EVSE status changes in batches, waits for a location's PUT, the beat's queue hygiene, removals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.utils import timezone

from locations.models import EvseStatus
from ocpi_api.models import OutboundRequestLog
from partners.models import Partner
from ptp_simulator.process import SimulatorProcess
from pushes import fast, retries, staff
from pushes.models import DeliveryAttempt, OutboxMessage, PartnerCopy
from tests.factories import ConnectorFactory, EvseFactory, LocationFactory


def location_key(location: Any) -> str:
    return f"{location.party.country_code}/{location.party.party_id}/{location.location_id}"


def stored_evse(sim: SimulatorProcess, evse: Any) -> dict[str, Any]:
    stored = sim.control.received("locations", location_key(evse.location))["object"]
    return next(item for item in stored["evses"] if item["uid"] == evse.uid)


def test_status_changes_of_many_evses_go_out_in_batches_of_few_queries(
    payter: Partner,
    sim: SimulatorProcess,
    committed: Callable[..., Any],
    django_assert_max_num_queries: Any,
    settings: Any,
) -> None:
    settings.PUSH_FAST_BATCH_SIZE = 8
    with committed():
        evses = [EvseFactory(location=LocationFactory()) for _ in range(20)]
        for evse in evses:
            ConnectorFactory(evse=evse)
    attempts_before = DeliveryAttempt.objects.count()
    logs_before = OutboundRequestLog.objects.count()

    # Committed without running the wake-ups: the batches below deliver them all.
    for evse in evses:
        evse.status = EvseStatus.CHARGING
        evse.save(update_fields=["status"])
    # Three rounds of at most 8 and a last claim that finds nothing: 48 queries on PostgreSQL, 54
    # on SQLite, savepoints included. One by one, at about twenty each, this took some 400.
    with django_assert_max_num_queries(56):
        assert fast.deliver_fast() == 20

    assert all(stored_evse(sim, evse)["status"] == "CHARGING" for evse in evses)
    patches = DeliveryAttempt.objects.filter(method="PATCH", outcome="DELIVERED")
    assert DeliveryAttempt.objects.count() - attempts_before == patches.count() == 20
    assert OutboundRequestLog.objects.count() - logs_before == 20
    copies = PartnerCopy.objects.filter(object_type="evse")
    assert {copy.acknowledged_body["status"] for copy in copies} == {"CHARGING"}
    assert not OutboxMessage.objects.filter(state__in=("PENDING", "IN_FLIGHT")).exists()


def test_a_failing_partner_gets_each_status_change_tried_once_per_run_then_retried(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        evses = [EvseFactory(location=LocationFactory()) for _ in range(3)]
    sim.control.fault("/ocpi/2.2.1/locations", "http_500")

    for evse in evses:
        evse.status = EvseStatus.BLOCKED
        evse.save(update_fields=["status"])
    assert fast.deliver_fast() == 0

    failed = OutboxMessage.objects.filter(fast=True)
    # Retries are due at once in these settings, yet the run did not go round in circles.
    assert [message.attempts for message in failed] == [1, 1, 1]
    assert set(failed.values_list("state", flat=True)) == {"PENDING"}
    assert DeliveryAttempt.objects.filter(outcome="RETRY").count() == 3

    sim.control.clear_faults()
    staff.partner_resume(payter)
    with committed():
        retries.messages_requeue_due()
    assert all(stored_evse(sim, evse)["status"] == "BLOCKED" for evse in evses)
    assert set(failed.values_list("state", flat=True)) == {"DELIVERED"}


def test_an_evse_waits_for_its_locations_put_and_goes_when_that_is_delivered(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    sim.control.fault("/ocpi/2.2.1/locations", "down")
    with committed():
        evse = EvseFactory()
    location_copy = PartnerCopy.objects.get(object_type="location")
    evse_message = OutboxMessage.objects.get(copy__object_type="evse")
    assert evse_message.state == "PENDING"
    assert evse_message.waiting_for == location_copy
    assert evse_message.attempts == 0  # waiting uses up no attempt

    sim.control.clear_faults()
    with committed():
        retries.messages_requeue_due()  # the location's retry; its delivery releases the EVSE

    evse_message.refresh_from_db()
    assert (evse_message.state, evse_message.waiting_for) == ("DELIVERED", None)
    assert evse_message.last_error == "nothing changed for the partner"  # the PUT carried it
    assert stored_evse(sim, evse)["uid"] == evse.uid


def test_the_beat_does_not_enqueue_a_message_again_while_its_task_is_owed(
    payter: Partner, committed: Callable[..., Any], settings: Any
) -> None:
    settings.PUSH_FRESH_MESSAGE_GRACE_SECONDS = 60.0
    with committed():
        evse = EvseFactory()
    copy = PartnerCopy.objects.get(object_type="evse")
    now = timezone.now()
    # Another worker delivers this copy (its lease runs); a retry of the copy is due behind it.
    OutboxMessage.objects.create(
        copy=copy, partner=payter, module="locations", kind="STATE", action="UPSERT",
        state="IN_FLIGHT", attempts=1, changed_at=now, next_attempt_at=now,
        lease_until=now + timedelta(minutes=5),
    )  # fmt: skip
    due = OutboxMessage.objects.create(
        copy=copy, partner=payter, module="locations", kind="STATE", action="UPSERT",
        state="PENDING", attempts=1, changed_at=now, next_attempt_at=now,
    )  # fmt: skip

    assert retries.messages_requeue_due() == 1  # its task finds the copy busy and leaves it
    assert retries.messages_requeue_due() == 0  # owed a task already: not doubled
    OutboxMessage.objects.filter(pk=due.pk).update(requeued_at=now - timedelta(minutes=2))
    assert retries.messages_requeue_due() == 1  # that task got lost: enqueued again
    assert evse.pk  # the EVSE itself was never the point


def test_a_deleted_connector_resends_its_evse_and_a_deleted_evse_becomes_removed(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        evse = EvseFactory()
        ConnectorFactory(evse=evse, connector_id="1")
        ConnectorFactory(evse=evse, connector_id="2")
    assert [item["id"] for item in stored_evse(sim, evse)["connectors"]] == ["1", "2"]

    with committed():
        evse.connectors.get(connector_id="2").delete()
    assert [item["id"] for item in stored_evse(sim, evse)["connectors"]] == ["1"]

    with committed():
        evse.delete()
    removed = stored_evse(sim, evse)
    assert removed["status"] == "REMOVED"
    history = sim.control.received("locations", location_key(evse.location))["history"]
    assert history[-1]["method"] == "PATCH"
    assert set(history[-1]["body"]) == {"status", "last_updated"}
    assert PartnerCopy.objects.get(object_type="evse").deleted is True
    assert not OutboxMessage.objects.filter(state__in=("PENDING", "IN_FLIGHT")).exists()


def test_a_deleted_location_leaves_its_evses_removed_at_the_partner(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        location = LocationFactory()
        first, second = EvseFactory(location=location), EvseFactory(location=location)
    key = location_key(location)

    with committed():
        location.delete()

    stored = sim.control.received("locations", key)["object"]
    assert {item["uid"]: item["status"] for item in stored["evses"]} == {
        first.uid: "REMOVED",
        second.uid: "REMOVED",
    }
