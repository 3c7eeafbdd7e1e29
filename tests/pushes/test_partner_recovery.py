"""A partner that fails: one failure per attempt window, one probe at a time, everything released
when the partner answers again."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from locations.models import EvseStatus
from partners.models import Partner
from ptp_simulator.process import SimulatorProcess
from pushes import fast, retries
from pushes.models import DeliveryAttempt, OutboxMessage, PartnerPushStatus
from tests.factories import EvseFactory, LocationFactory


def ocpi_requests(sim: SimulatorProcess) -> int:
    return sum(1 for entry in sim.control.requests() if entry["path"].startswith("/ocpi/2.2.1/locations"))


def test_a_batch_of_failed_status_changes_counts_as_one_partner_failure(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        evses = [EvseFactory(location=LocationFactory()) for _ in range(6)]
    sim.control.fault("/ocpi/2.2.1/locations", "http_500")

    for evse in evses:
        evse.status = EvseStatus.CHARGING
        evse.save(update_fields=["status"])
    assert fast.deliver_fast() == 0

    assert DeliveryAttempt.objects.filter(outcome="RETRY").count() == 6  # one batch of six PATCHes
    status = PartnerPushStatus.objects.get(partner=payter)
    assert status.consecutive_failures == 1  # one observation of the partner
    assert status.retry_after is None  # one failure does not hold the partner's other messages


def test_failures_within_one_attempt_window_count_once(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any], settings: Any
) -> None:
    settings.PUSH_FAILURE_WINDOW_SECONDS = 30.0
    sim.control.fault("/ocpi/2.2.1/locations", "down")

    with committed():
        for _ in range(17):
            LocationFactory()

    assert DeliveryAttempt.objects.filter(outcome="UNKNOWN").count() == 17
    status = PartnerPushStatus.objects.get(partner=payter)
    assert (status.consecutive_failures, status.retry_after) == (1, None)


def test_a_partner_that_keeps_failing_is_probed_with_one_message_and_released_when_it_answers(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any], settings: Any
) -> None:
    settings.PUSH_FAILURE_WINDOW_SECONDS = 0.0  # each failure one after the other is an observation
    settings.PUSH_PROBE_INTERVAL_SECONDS = 0.5
    sim.control.fault("/ocpi/2.2.1/locations", "down")

    with committed():
        locations = [LocationFactory() for _ in range(5)]
    # Three failures in a row: the partner is down, and the last two messages wait without a try.
    assert ocpi_requests(sim) == 3
    status = PartnerPushStatus.objects.get(partner=payter)
    assert status.consecutive_failures == 3
    assert status.retry_after is not None
    assert sorted(OutboxMessage.objects.values_list("attempts", flat=True)) == [0, 0, 1, 1, 1]

    with committed():
        retries.messages_requeue_due()
    assert ocpi_requests(sim) == 3  # before the probe time: nothing is tried

    for probe in (1, 2):
        time.sleep(0.6)
        with committed():
            retries.messages_requeue_due()
            retries.messages_requeue_due()  # a second beat in the same interval adds no probe
        assert ocpi_requests(sim) == 3 + probe  # one message, not all five
    oldest = OutboxMessage.objects.order_by("id").first()
    assert oldest is not None
    assert oldest.attempts == 1  # a failed probe uses up none of the message's tries

    sim.control.clear_faults()
    time.sleep(0.6)
    with committed():
        retries.messages_requeue_due()

    # The probe got through and released the other four at once.
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"DELIVERED"}
    assert len(sim.control.received("locations")) == len(locations)
    status.refresh_from_db()
    assert (status.consecutive_failures, status.retry_after) == (0, None)


def test_a_probe_that_needs_no_call_hands_the_probe_to_the_next_message_at_once(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any], settings: Any
) -> None:
    settings.PUSH_FAILURE_WINDOW_SECONDS = 0.0
    settings.PUSH_PROBE_INTERVAL_SECONDS = 0.3
    with committed():
        evse = EvseFactory()  # the partner holds it AVAILABLE
    sim.control.fault("/ocpi/2.2.1/locations", "down")
    with committed():
        evse.status = EvseStatus.CHARGING
        evse.save(update_fields=["status"])
    with committed():
        for _ in range(3):
            LocationFactory()
    assert PartnerPushStatus.objects.get(partner=payter).retry_after is not None
    with committed():
        evse.status = EvseStatus.AVAILABLE  # back to what the partner holds: nothing to send
        evse.save(update_fields=["status"])

    sim.control.clear_faults()
    time.sleep(0.4)
    with committed():
        retries.messages_requeue_due()  # one beat

    # The oldest message, the EVSE's, made no call; the next one probed at once and got through.
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {"DELIVERED"}
    assert PartnerPushStatus.objects.get(partner=payter).retry_after is None
