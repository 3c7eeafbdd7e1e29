"""Racing transitions on a real PostgreSQL: two threads, one outcome."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from chargers.models import SimulatedCharger
from sessions.models import Cdr, ChargingSession, CommandType, SessionStatus
from sessions.services import command_receive, session_charger_started, session_charger_stopped
from tests.flow.conftest import ResultReceiver, Site, make_site, simulate, start_body

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # SQLite serialises writers on one file lock, so two threads cannot race on a row there:
    # these tests only mean something where select_for_update() does (PostgreSQL, as in CI).
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row-lock races need PostgreSQL"),
]


def race(*calls: Callable[[], Any]) -> list[BaseException | None]:
    """Run the calls in parallel threads, released together; return what each raised."""
    barrier = threading.Barrier(len(calls))
    errors: list[BaseException | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            call()
        except BaseException as error:
            errors[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return errors


def test_two_stops_at_once_complete_the_session_once_with_one_cdr(result_receiver: ResultReceiver) -> None:
    site = make_site()
    simulate(site.evse, SimulatedCharger.Behaviour.NO_VEHICLE)
    command = command_receive(
        partner=site.partner,
        command=CommandType.START_SESSION,
        body=start_body(site, result_receiver.url("START_SESSION", "r1")),
        version="2.2.1",
    )
    session = command.session
    assert session is not None
    session_charger_started(session=session, timestamp=session.start_date_time, meter_start_kwh=Decimal(0))
    end = session.start_date_time + timedelta(minutes=20)

    errors = race(
        lambda: session_charger_stopped(session=session, timestamp=end, meter_stop_kwh=Decimal(5)),
        lambda: session_charger_stopped(session=session, timestamp=end, meter_stop_kwh=Decimal(5)),
    )

    assert errors == [None, None]
    assert ChargingSession.objects.get().status == SessionStatus.COMPLETED
    assert Cdr.objects.count() == 1


def test_two_starts_on_one_evse_at_once_create_one_session(result_receiver: ResultReceiver) -> None:
    site: Site = make_site()
    simulate(site.evse, SimulatedCharger.Behaviour.NO_VEHICLE)

    def start(command_id: str, reference: str) -> Callable[[], Any]:
        return lambda: command_receive(
            partner=site.partner,
            command=CommandType.START_SESSION,
            body=start_body(
                site, result_receiver.url("START_SESSION", command_id), authorization_reference=reference
            ),
            version="2.2.1",
        )

    errors = race(start("a", "AUTH-A"), start("b", "AUTH-B"))

    assert errors == [None, None]
    assert ChargingSession.objects.count() == 1


def test_the_same_command_twice_at_once_is_recorded_once(result_receiver: ResultReceiver) -> None:
    site = make_site()
    simulate(site.evse, SimulatedCharger.Behaviour.NO_VEHICLE)
    body = start_body(site, result_receiver.url("START_SESSION", "same"))

    def start() -> Any:
        return command_receive(
            partner=site.partner, command=CommandType.START_SESSION, body=body, version="2.2.1"
        )

    errors = race(start, start)

    assert errors == [None, None]
    assert ChargingSession.objects.count() == 1
