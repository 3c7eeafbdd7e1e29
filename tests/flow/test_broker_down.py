"""Redis down: START_SESSION is answered and committed; a periodic job sends the start to the charger."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from chargers import services, tasks
from sessions.lifecycle import MeterValue, session_meter_values
from sessions.models import ChargingSession, ReceivedCommand, SessionStatus
from tests.broker import broker_unreachable
from tests.flow.conftest import ResultReceiver, Site, make_site, ocpi_client, post_json, start_body


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


def test_a_stop_we_decide_with_redis_down_raises_nothing_and_the_periodic_job_asks_the_charger(
    transactional_db: None, result_receiver: ResultReceiver, settings: Any
) -> None:
    site = make_site(preauthorize_amount=Decimal("5.00"))  # 0.484 per kWh incl. VAT; stop at 4.50
    post_json(
        ocpi_client(site.partner),
        "/ocpi/2.2.1/commands/START_SESSION",
        start_body(site, result_receiver.url("START_SESSION", "s1")),
    )
    session = ChargingSession.objects.get()
    assert session.status == SessionStatus.ACTIVE  # Redis up: the simulated charger started it
    begin = session.start_date_time

    with broker_unreachable(settings):
        for report in range(1, 6):  # 2 kWh every 10 minutes; the 5th would pass the limit
            session = session_meter_values(
                session=session,
                values=[MeterValue(begin + timedelta(minutes=10 * report), Decimal(2 * report))],
            )

    session.refresh_from_db()
    assert session.stop_requested_at is not None  # decided and committed; the charger not asked
    assert session.status == SessionStatus.ACTIVE

    later = timezone.now() + timedelta(seconds=settings.CHARGING_STOP_RETRY_SECONDS + 1)
    assert services.charger_stops_resend(now=later) == 1

    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
