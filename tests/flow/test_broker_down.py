"""Redis down: START_SESSION is answered and committed; a periodic job sends the start to the charger."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from chargers import services, tasks
from sessions.models import ChargingSession, ReceivedCommand, SessionStatus
from tests.broker import broker_unreachable
from tests.flow.conftest import ResultReceiver, Site, ocpi_client, post_json, start_body


def test_start_session_with_redis_down_is_accepted_and_the_periodic_job_starts_the_charger_once(
    transactional_db: None, site: Site, result_receiver: ResultReceiver, settings: Any
) -> None:
    with broker_unreachable(settings):
        response = post_json(
            ocpi_client(site.partner),
            "/ocpi/2.2.1/commands/START_SESSION",
            start_body(site, result_receiver.url("START_SESSION", "h1")),
        )

    assert response.status_code == 200
    assert response.json()["data"]["result"] == "ACCEPTED"
    session = ChargingSession.objects.get()
    assert session.status == SessionStatus.PENDING  # the charger was never asked
    assert ReceivedCommand.objects.get().sent_to_charger_at is None

    # The beat task, Redis back: a just accepted command is left to its own task for a moment.
    assert tasks.charger_commands_send_unsent() == 0
    later = timezone.now() + timedelta(seconds=30)
    assert services.charger_commands_send_unsent(now=later) == 1

    session.refresh_from_db()
    assert session.status == SessionStatus.ACTIVE  # the simulated charger started it
    assert ReceivedCommand.objects.get().sent_to_charger_at is not None
    assert services.charger_commands_send_unsent(now=later) == 0  # a charger is asked once
