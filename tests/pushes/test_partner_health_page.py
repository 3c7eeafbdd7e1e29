"""The partner health page tells the truth: not connected, stuck, last push and pull, and acts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from partners.models import Partner
from ptp_simulator.process import SimulatorProcess
from pushes import selectors
from pushes.models import DeliveryAttempt, OutboxMessage, PartnerPushStatus, PullCursor
from tests.factories import LocationFactory, PartnerFactory

URL = "admin:pushes_partnerpushhealth_changelist"


def _row(page: str, name: str) -> str:
    start = page.index(f">{name}</")
    return page[start : page.index("</tr>", start)]


def test_a_planned_or_unregistered_partner_is_not_connected(staff_client: Client) -> None:
    PartnerFactory(name="Planned eMSP", status=Partner.Status.PLANNED, version="", versions_url="")
    PartnerFactory(name="Gone eMSP", status=Partner.Status.UNREGISTERED)

    page = staff_client.get(reverse(URL)).content.decode()

    assert "not connected" in _row(page, "Planned eMSP")
    assert "flowing" not in _row(page, "Planned eMSP")
    assert "not connected" in _row(page, "Gone eMSP")
    # One pair of parentheses, not "not connected (Planned (token A issued, no handshake yet))".
    assert "((" not in _row(page, "Planned eMSP")
    assert "))" not in _row(page, "Planned eMSP")
    assert "not connected</span>: token A issued, no handshake yet" in _row(page, "Planned eMSP")
    assert "not connected</span>: unregistered" in _row(page, "Gone eMSP")


def test_a_partner_whose_due_retry_nobody_sent_is_stuck_not_flowing(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any], staff_client: Client, settings: Any
) -> None:
    sim.control.fault("/ocpi/2.2.1/locations", "http_500", count=1)
    with committed():
        LocationFactory()
    overdue = timezone.now() - timedelta(seconds=settings.SCHEDULER_STALE_SECONDS + 60)
    OutboxMessage.objects.update(next_attempt_at=overdue)
    PartnerPushStatus.objects.filter(partner=payter).update(retry_after=None)

    health = selectors.partner_health(payter)
    row = _row(staff_client.get(reverse(URL)).content.decode(), "Payter")

    assert health.stuck == 1
    assert "stuck" in row
    assert "flowing" not in row


def test_the_page_shows_the_last_successful_push_and_pull(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any], staff_client: Client
) -> None:
    with committed():
        LocationFactory()
    pulled_at = timezone.now() - timedelta(minutes=7)
    PullCursor.objects.create(partner=payter, name="terminals", last_run_at=pulled_at)

    health = selectors.partner_health(payter)
    row = _row(staff_client.get(reverse(URL)).content.decode(), "Payter")

    assert health.last_push_at == DeliveryAttempt.objects.get(outcome="DELIVERED").started_at
    assert health.last_pull_at == pulled_at
    assert '<td class="field-last_push">-</td>' not in row
    assert '<td class="field-last_pull">-</td>' not in row
    # As ages (three full timestamps side by side did not fit the window), the time on hover.
    assert f'<span title="{pulled_at:%Y-%m-%d %H:%M:%S} UTC">7\xa0minutes ago</span>' in row
    assert f'<span title="{health.last_push_at:%Y-%m-%d %H:%M:%S} UTC">' in row


def test_retry_now_on_the_health_page_sends_the_partners_dead_and_waiting_messages(
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
    OutboxMessage.objects.update(state=OutboxMessage.State.DEAD)
    sim.control.clear_faults()

    with committed():
        response = staff_client.post(
            reverse(URL), {"action": "retry_now", "_selected_action": [payter.pk]}, follow=True
        )

    message = OutboxMessage.objects.get()
    assert "1 message(s) of 1 partner(s) will be tried again now." in response.content.decode()
    assert message.state == OutboxMessage.State.DELIVERED


def test_retry_now_counts_every_attempt(
    payter: Partner,
    sim: SimulatorProcess,
    committed: Callable[..., Any],
    staff_client: Client,
    push_settings: Any,
) -> None:
    push_settings.PUSH_RETRY_BASE_SECONDS = 3600
    push_settings.PUSH_RETRY_CAP_SECONDS = 3600
    sim.control.fault("/ocpi/2.2.1/locations", "http_500", count=1)
    with committed():
        LocationFactory()
    message = OutboxMessage.objects.get()
    assert message.attempts == 1

    with committed():
        staff_client.post(
            reverse("admin:pushes_outboxmessage_changelist"),
            {"action": "retry_now", "_selected_action": [message.pk]},
        )

    message.refresh_from_db()
    assert message.state == OutboxMessage.State.DELIVERED
    assert message.attempts == 2 == DeliveryAttempt.objects.filter(message=message).count()
