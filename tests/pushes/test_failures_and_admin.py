"""Failures: retries with backoff, dead letters, 401/405 pausing a partner; the admin that shows them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from locations.models import EvseStatus
from ocpi_api.models import OutboundRequestLog
from partners.models import Partner
from ptp_simulator.process import SimulatorProcess
from pushes import retries, selectors, staff
from pushes.models import DeliveryAttempt, OutboxMessage, PartnerCopy, PartnerPushStatus
from tests.factories import EvseFactory, LocationFactory
from tests.pushes.conftest import deliver_due_until


def test_the_retry_delay_grows_exponentially_with_jitter_up_to_the_cap(settings: Any) -> None:
    settings.PUSH_RETRY_BASE_SECONDS = 10
    settings.PUSH_RETRY_FACTOR = 2
    settings.PUSH_RETRY_CAP_SECONDS = 300

    delays = {
        attempt: [retries.retry_delay(attempt).total_seconds() for _ in range(50)] for attempt in (1, 3, 10)
    }

    assert all(5 <= d <= 10 for d in delays[1])
    assert all(20 <= d <= 40 for d in delays[3])
    assert all(150 <= d <= 300 for d in delays[10])
    assert len(set(delays[3])) > 1  # jittered


def test_a_failing_push_is_retried_until_it_arrives_and_every_attempt_is_logged(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    sim.control.fault("/ocpi/2.2.1/locations", "http_500", count=2)
    with committed():
        location = LocationFactory()

    deliver_due_until(lambda: OutboxMessage.objects.get().state == "DELIVERED", committed)

    message = OutboxMessage.objects.get()
    assert message.attempts == 3
    assert list(DeliveryAttempt.objects.order_by("id").values_list("outcome", flat=True)) == [
        "RETRY",
        "RETRY",
        "DELIVERED",
    ]
    assert OutboundRequestLog.objects.filter(partner=payter, url__contains=location.location_id).count() == 3


def test_a_message_older_than_the_maximum_age_is_dead_lettered_and_replay_delivers_it(
    payter: Partner,
    sim: SimulatorProcess,
    committed: Callable[..., Any],
    push_settings: Any,
    staff_client: Client,
) -> None:
    sim.control.fault("/ocpi/2.2.1/locations", "http_500")
    with committed():
        location = LocationFactory()
    message = OutboxMessage.objects.get()
    OutboxMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(days=6))
    with committed():
        retries.messages_requeue_due()
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.DEAD

    sim.control.clear_faults()
    with committed():
        response = staff_client.post(
            reverse("admin:pushes_deadletter_changelist"),
            {"action": "replay", "_selected_action": [message.pk]},
            follow=True,
        )

    assert "1 replay message(s) queued." in response.content.decode()
    key = f"{location.party.country_code}/{location.party.party_id}/{location.location_id}"
    assert sim.control.received("locations", key)["history"][-1]["method"] == "PUT"
    message.refresh_from_db()
    assert message.state == OutboxMessage.State.DISCARDED


@pytest.mark.parametrize("fault", ["http_401", "method_405"])
def test_a_401_or_405_pauses_the_partner_without_using_up_retries(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any], fault: str, caplog: Any
) -> None:
    if fault == "http_401":
        sim.control.fault("/ocpi/2.2.1/locations", "http_401")
    else:
        # The partner's endpoint refuses PUT (its cdrs module takes POST only): HTTP 405.
        payter.endpoints.filter(module="locations").update(url=f"{sim.base_url}/ocpi/2.2.1/cdrs")
    with committed():
        LocationFactory()
        LocationFactory()

    status = PartnerPushStatus.objects.get(partner=payter)
    assert status.paused is True
    assert "Pushes to partner Payter paused" in caplog.text
    assert OutboxMessage.objects.filter(state="PENDING", attempts=0).count() == 2
    # While paused, nothing is tried.
    with committed():
        assert retries.messages_requeue_due() == 0

    sim.control.clear_faults()
    payter.endpoints.filter(module="locations").update(url=f"{sim.base_url}/ocpi/2.2.1/locations")
    with committed():
        staff.partner_resume(payter)

    assert OutboxMessage.objects.filter(state="DELIVERED").count() == 2
    assert len(sim.control.received("locations")) == 2


def test_the_admin_shows_queue_depth_oldest_pending_and_failure_rate_per_partner(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any], staff_client: Client
) -> None:
    with committed():
        EvseFactory()
    sim.control.fault("/ocpi/2.2.1/locations", "down")
    with committed():
        LocationFactory()

    health = selectors.partner_health(payter)
    response = staff_client.get(reverse("admin:pushes_partnerpushhealth_changelist"))

    assert health.queue_depth == 1
    assert health.oldest_pending_at is not None
    assert health.failures_24h == 1
    assert response.status_code == 200
    page = response.content.decode()
    assert "Payter" in page
    assert f"{health.failure_rate:.0%} of {health.attempts_24h}" in page


def test_the_admin_lists_outbox_messages_and_copies_with_the_partners_state(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any], staff_client: Client
) -> None:
    with committed():
        evse = EvseFactory()
    sim.control.fault("/ocpi/2.2.1/locations", "http_500")
    with committed():
        evse.status = EvseStatus.CHARGING
        evse.save(update_fields=["status"])

    messages_page = staff_client.get(
        reverse("admin:pushes_outboxmessage_changelist") + "?state__exact=PENDING"
    )
    copies_page = staff_client.get(reverse("admin:pushes_partnercopy_changelist"))
    message = OutboxMessage.objects.get(state="PENDING")
    detail = staff_client.get(reverse("admin:pushes_outboxmessage_change", args=[message.pk]))

    assert messages_page.status_code == copies_page.status_code == detail.status_code == 200
    assert evse.uid in messages_page.content.decode()
    copies = copies_page.content.decode()
    # The location is current (its EVSE has a copy of its own); the EVSE's status is not delivered.
    assert selectors.copy_is_current(PartnerCopy.objects.get(object_type="location")) is True
    assert selectors.copy_is_current(PartnerCopy.objects.get(object_type="evse")) is False
    assert 'field-has_latest_state"><img src="/static/admin/img/icon-yes.svg"' in copies
    assert 'field-has_latest_state"><img src="/static/admin/img/icon-no.svg"' in copies


def test_retry_now_and_discard_actions_act_on_pending_messages(
    payter: Partner,
    sim: SimulatorProcess,
    committed: Callable[..., Any],
    staff_client: Client,
    push_settings: Any,
) -> None:
    push_settings.PUSH_RETRY_BASE_SECONDS = 3600
    push_settings.PUSH_RETRY_CAP_SECONDS = 3600
    sim.control.fault("/ocpi/2.2.1/locations", "http_500")
    with committed():
        LocationFactory()
        LocationFactory()
    first, second = OutboxMessage.objects.order_by("id")
    url = reverse("admin:pushes_outboxmessage_changelist")

    discarded = staff_client.post(url, {"action": "discard", "_selected_action": [second.pk]}, follow=True)
    sim.control.clear_faults()
    with committed():
        retried = staff_client.post(url, {"action": "retry_now", "_selected_action": [first.pk]}, follow=True)

    assert "1 message(s) will be tried again now." in retried.content.decode()
    assert "1 message(s) discarded" in discarded.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == ("DELIVERED", "DISCARDED")
