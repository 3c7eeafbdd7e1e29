"""Racing transitions on a real PostgreSQL: two threads, one outcome."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.db import connection

from chargers.models import SimulatedCharger
from locations.models import Evse
from ocpi_api.transport.tokens import authorization_header
from sessions.commands import command_receive
from sessions.lifecycle import session_charger_started, session_charger_stopped, session_start_failed
from sessions.models import Cdr, ChargingSession, CommandType, ReceivedCommand, SessionStatus
from tests.factories import ConnectorFactory, EvseFactory
from tests.flow.conftest import ResultReceiver, Site, make_site, simulate, start_body
from tests.flow.gateways import CountingChargerGateway

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


# -- one session per pre-authorisation, over HTTP against the live server --------------------------------


def more_evses(site: Site, count: int) -> list[Evse]:
    """``count`` EVSEs at the site's location (the site's own first), each with a priced connector."""
    evses = [site.evse]
    for _ in range(count - 1):
        evse = EvseFactory(location=site.evse.location)
        ConnectorFactory(evse=evse).tariffs.add(site.tariff)
        evses.append(evse)
    for evse in evses:
        simulate(evse, SimulatedCharger.Behaviour.NO_VEHICLE)
    return evses


def post_starts(
    live_server: Any, site: Site, receiver: ResultReceiver, evses: list[Evse], *, prefix: str, parallel: bool
) -> list[dict[str, Any]]:
    """One START_SESSION per EVSE in ``evses`` (all with the same authorization_reference), each with
    its own response_url; all released together when ``parallel``. Returns the CommandResponses."""
    url = f"{live_server.url}/ocpi/2.2.1/commands/START_SESSION"
    headers = {"Authorization": authorization_header(site.partner.plain_token_c)}  # type: ignore[attr-defined]
    bodies = [
        start_body(site, receiver.url("START_SESSION", f"{prefix}{i}"), evse_uid=evse.uid)
        for i, evse in enumerate(evses)
    ]
    answers: list[dict[str, Any]] = [{} for _ in bodies]
    barrier = threading.Barrier(len(bodies)) if parallel else None

    def post(index: int) -> None:
        if barrier is not None:
            barrier.wait(timeout=10)
        response = httpx.post(url, json=bodies[index], headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        answers[index] = response.json()["data"]

    if not parallel:
        for index in range(len(bodies)):
            post(index)
        return answers
    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_twenty_starts_of_one_preauthorisation_on_ten_evses_at_once_start_one_session(
    live_server: Any, result_receiver: ResultReceiver
) -> None:
    site = make_site()
    evses = more_evses(site, 10)
    requested = evses * 2

    answers = post_starts(live_server, site, result_receiver, requested, prefix="a", parallel=True)

    session = ChargingSession.objects.get()
    assert session.authorization_reference == "PAYTER-AUTH-0001"
    # The EVSE that won is answered ACCEPTED (a replay of an accepted start); the others are
    # refused with a message that names the session the pre-authorisation already started.
    for evse, answer in zip(requested, answers, strict=True):
        if evse == session.evse:
            assert answer["result"] == "ACCEPTED", answer
        else:
            assert answer["result"] == "REJECTED", answer
            assert "PAYTER-AUTH-0001" in answer["message"][0]["text"]
            assert session.evse.uid in answer["message"][0]["text"]
    # The same requests again, one by one, get the same answers.
    again = post_starts(live_server, site, result_receiver, requested, prefix="b", parallel=False)
    assert [a["result"] for a in again] == [a["result"] for a in answers]
    assert ChargingSession.objects.count() == 1


def test_twenty_starts_of_one_preauthorisation_on_one_evse_at_once_are_all_accepted(
    live_server: Any, result_receiver: ResultReceiver
) -> None:
    site = make_site()
    simulate(site.evse, SimulatedCharger.Behaviour.NO_VEHICLE)

    answers = post_starts(live_server, site, result_receiver, [site.evse] * 20, prefix="a", parallel=True)

    assert ChargingSession.objects.count() == 1
    assert [answer["result"] for answer in answers] == ["ACCEPTED"] * 20
    session = ChargingSession.objects.get()
    assert ReceivedCommand.objects.filter(session=session).count() == 20


def test_replays_of_an_accepted_start_ask_the_charger_to_start_once(
    live_server: Any, result_receiver: ResultReceiver, settings: Any
) -> None:
    settings.CHARGER_GATEWAY = "tests.flow.gateways.CountingChargerGateway"
    CountingChargerGateway.starts.clear()
    site = make_site()
    simulate(site.evse, SimulatedCharger.Behaviour.NO_VEHICLE)

    post_starts(live_server, site, result_receiver, [site.evse] * 10, prefix="a", parallel=True)
    post_starts(live_server, site, result_receiver, [site.evse] * 3, prefix="b", parallel=False)

    # Thirteen accepted commands for one session, one remote start: a second one while the first
    # waits for a vehicle would open a second transaction on a real charger.
    session = ChargingSession.objects.get()
    assert ReceivedCommand.objects.filter(session=session, response_result="ACCEPTED").count() == 13
    assert CountingChargerGateway.starts == {session.session_id: 1}
    # Every one of them gets the session's outcome when it comes.
    session_start_failed(session=session, result="TIMEOUT", message="No vehicle.")
    assert set(ReceivedCommand.objects.filter(session=session).values_list("result", flat=True)) == {
        "TIMEOUT"
    }


def test_a_replay_on_the_evse_its_own_session_charges_on_is_accepted(
    live_server: Any, result_receiver: ResultReceiver
) -> None:
    site = make_site()
    simulate(site.evse, SimulatedCharger.Behaviour.NO_VEHICLE)
    [first] = post_starts(live_server, site, result_receiver, [site.evse], prefix="a", parallel=False)
    session = ChargingSession.objects.get()
    session_charger_started(session=session, timestamp=session.start_date_time, meter_start_kwh=Decimal(0))

    answers = post_starts(live_server, site, result_receiver, [site.evse] * 5, prefix="b", parallel=True)

    assert first["result"] == "ACCEPTED"
    assert [answer["result"] for answer in answers] == ["ACCEPTED"] * 5
    assert ChargingSession.objects.count() == 1
