"""The internal charger REST API: authentication, events, replays, errors, and its OpenAPI description."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from chargers.models import ChargingBackend, SimulatedCharger
from chargers.services import charging_backend_serve
from sessions.commands import command_receive
from sessions.models import Cdr, ChargingSession, CommandType, MeterReading, SessionStatus
from tests.flow.conftest import ResultReceiver, Site, simulate, start_body

pytestmark = pytest.mark.django_db

TOKEN = "backend-token-0123456789"


@pytest.fixture
def backend(site: Site) -> ChargingBackend:
    """The backend that serves the site's EVSE."""
    backend = ChargingBackend(name="OCPP central system")
    backend.set_token(TOKEN)
    backend.save()
    charging_backend_serve(backend=backend, evses=[site.evse])
    return backend


@pytest.fixture
def pending(site: Site, result_receiver: ResultReceiver) -> ChargingSession:
    # A charger that reports through the API: the simulated one must not start it by itself.
    simulate(site.evse, SimulatedCharger.Behaviour.NO_VEHICLE)
    command = command_receive(
        partner=site.partner,
        command=CommandType.START_SESSION,
        body=start_body(site, result_receiver.url("START_SESSION", "a1")),
        version="2.2.1",
    )
    assert command.session is not None
    return command.session


def call(session_id: str, event: str, body: Any, token: str | None = TOKEN) -> Any:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return Client(**headers).post(
        f"/chargers/api/v1/sessions/{session_id}/{event}",
        data=json.dumps(body),
        content_type="application/json",
    )


def at(session: ChargingSession, minutes: float) -> str:
    return (session.start_date_time + timedelta(minutes=minutes)).isoformat()


def test_a_backend_reports_start_meter_values_and_stop(
    backend: ChargingBackend, pending: ChargingSession
) -> None:
    started = call(pending.session_id, "started", {"timestamp": at(pending, 1), "meter_start_kwh": "1000.5"})
    metered = call(
        pending.session_id,
        "meter-values",
        {
            "meter_values": [
                {"timestamp": at(pending, 11), "energy_kwh": "1002.5", "power_kw": "12", "current_a": "17.4"},
                {"timestamp": at(pending, 21), "energy_kwh": "1004.5", "power_kw": "12", "current_a": "17.4"},
            ]
        },
    )
    stopped = call(pending.session_id, "stopped", {"timestamp": at(pending, 31), "meter_stop_kwh": "1006.5"})

    assert started.status_code == metered.status_code == stopped.status_code == 200
    assert Decimal(metered.json()["kwh"]) == Decimal(4)
    assert Decimal(metered.json()["total_cost_excl_vat"]) == Decimal("1.60")
    assert stopped.json()["status"] == "COMPLETED"
    cdr = Cdr.objects.get()
    assert cdr.total_energy == Decimal(6)
    assert cdr.total_cost_excl_vat == Decimal("2.40")


def test_replayed_events_change_nothing(backend: ChargingBackend, pending: ChargingSession) -> None:
    start = {"timestamp": at(pending, 1), "meter_start_kwh": "0"}
    values = {"meter_values": [{"timestamp": at(pending, 5), "energy_kwh": "1"}]}
    call(pending.session_id, "started", start)
    call(pending.session_id, "meter-values", values)

    assert call(pending.session_id, "started", start).status_code == 200
    assert call(pending.session_id, "meter-values", values).status_code == 200
    assert MeterReading.objects.count() == 2


def test_a_start_failure_makes_the_session_invalid(
    backend: ChargingBackend, pending: ChargingSession
) -> None:
    response = call(
        pending.session_id, "start-failed", {"result": "EVSE_OCCUPIED", "message": "Cable in use"}
    )

    assert response.json()["status"] == "INVALID"
    assert ChargingSession.objects.get().status == SessionStatus.INVALID


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_it_rejects_a_missing_or_unknown_token(pending: ChargingSession, token: str | None) -> None:
    response = call(
        pending.session_id, "started", {"timestamp": at(pending, 1), "meter_start_kwh": "0"}, token
    )

    assert response.status_code == 401
    assert ChargingSession.objects.get().status == SessionStatus.PENDING


def test_it_rejects_the_token_of_a_deactivated_backend(
    backend: ChargingBackend, pending: ChargingSession
) -> None:
    backend.is_active = False
    backend.save()

    response = call(pending.session_id, "started", {"timestamp": at(pending, 1), "meter_start_kwh": "0"})

    assert response.status_code == 401


def test_an_unknown_session_is_404(backend: ChargingBackend) -> None:
    response = call(
        "no-such-session", "started", {"timestamp": "2026-01-01T10:00:00Z", "meter_start_kwh": "0"}
    )

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timestamp": "yesterday", "meter_start_kwh": "0"}, "timestamp"),
        ({"timestamp": "2026-01-01T10:00:00Z", "meter_start_kwh": "-1"}, "meter_start_kwh"),
        ({"timestamp": "2026-01-01T10:00:00Z"}, "meter_start_kwh"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    backend: ChargingBackend, pending: ChargingSession, body: dict[str, Any], field: str
) -> None:
    response = call(pending.session_id, "started", body)

    assert response.status_code == 400
    assert field in response.json()
    assert ChargingSession.objects.get().status == SessionStatus.PENDING


def test_meter_values_before_the_start_are_a_conflict(
    backend: ChargingBackend, pending: ChargingSession
) -> None:
    response = call(
        pending.session_id,
        "meter-values",
        {"meter_values": [{"timestamp": at(pending, 1), "energy_kwh": "1"}]},
    )

    assert response.status_code == 409
    assert "PENDING" in response.json()["detail"]
    assert not MeterReading.objects.exists()


def test_the_charger_api_is_described_in_the_openapi_schema(db: None) -> None:
    response = Client().get("/api/schema/", HTTP_ACCEPT="application/json")

    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    assert "/chargers/api/v1/sessions/{session_id}/meter-values" in paths
    operation = paths["/chargers/api/v1/sessions/{session_id}/stopped"]["post"]
    assert operation["operationId"] == "charger_session_stopped"
    assert "409" in operation["responses"]


def test_a_backend_created_by_the_command_can_report_with_the_printed_token(
    site: Site, pending: ChargingSession
) -> None:
    out = StringIO()
    call_command("charging_backend_create", "Central system", "--location", site.location_id, stdout=out)
    token = out.getvalue().strip().splitlines()[-1]

    response = call(
        pending.session_id, "started", {"timestamp": at(pending, 1), "meter_start_kwh": "0"}, token
    )

    assert response.status_code == 200
    assert ChargingBackend.objects.get().name == "Central system"


def test_a_backend_created_by_the_command_without_locations_reports_on_nothing(
    pending: ChargingSession,
) -> None:
    out = StringIO()
    call_command("charging_backend_create", "Central system", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]

    response = call(
        pending.session_id, "started", {"timestamp": at(pending, 1), "meter_start_kwh": "0"}, token
    )

    assert "serving no EVSE" in out.getvalue()
    assert response.status_code == 404


def test_the_command_refuses_an_unknown_location(db: None) -> None:
    with pytest.raises(CommandError, match="NOWHERE"):
        call_command("charging_backend_create", "Central system", "--location", "NOWHERE", stdout=StringIO())
    assert not ChargingBackend.objects.exists()


def test_a_second_backend_with_the_same_name_is_refused(backend: ChargingBackend) -> None:
    with pytest.raises(CommandError, match="already exists"):
        call_command("charging_backend_create", "OCPP central system", stdout=StringIO())


# -- object-level authorisation: a backend reports only on sessions of the EVSEs it serves ---------------

OTHER_TOKEN = "other-backend-token-9876543210"


@pytest.fixture
def other_backend(db: None) -> ChargingBackend:
    other = ChargingBackend(name="Another central system")
    other.set_token(OTHER_TOKEN)
    other.save()
    return other


@pytest.mark.parametrize(
    ("event", "body"),
    [
        ("started", {"timestamp": "2026-01-01T10:00:00Z", "meter_start_kwh": "0"}),
        ("meter-values", {"meter_values": [{"timestamp": "2026-01-01T10:05:00Z", "energy_kwh": "9999"}]}),
        ("stopped", {"timestamp": "2026-01-01T10:10:00Z", "meter_stop_kwh": "9999"}),
        ("start-failed", {"result": "FAILED"}),
    ],
)
def test_a_backend_cannot_report_on_a_session_of_an_evse_it_does_not_serve(
    backend: ChargingBackend,
    other_backend: ChargingBackend,
    pending: ChargingSession,
    event: str,
    body: dict[str, Any],
) -> None:
    unknown = call("no-such-session", event, body, OTHER_TOKEN)

    response = call(pending.session_id, event, body, OTHER_TOKEN)

    # The same answer as for a session that does not exist: nothing tells it the session is there.
    assert response.status_code == unknown.status_code == 404
    assert response.json() == {"detail": "Unknown session."}
    assert unknown.json() == {"detail": "Unknown session."}
    assert ChargingSession.objects.get().status == SessionStatus.PENDING
    assert not MeterReading.objects.exists()


def test_a_second_backend_cannot_complete_a_running_session_with_9999_kwh(
    backend: ChargingBackend, other_backend: ChargingBackend, pending: ChargingSession
) -> None:
    call(pending.session_id, "started", {"timestamp": at(pending, 0), "meter_start_kwh": "0"})

    response = call(
        pending.session_id, "stopped", {"timestamp": at(pending, 10), "meter_stop_kwh": "9999"}, OTHER_TOKEN
    )

    assert response.status_code == 404
    assert ChargingSession.objects.get().status == SessionStatus.ACTIVE
    assert not Cdr.objects.exists()


# -- meter plausibility: no more energy than the connector's power over the elapsed time ------------------


def started(session: ChargingSession) -> None:
    response = call(session.session_id, "started", {"timestamp": at(session, 0), "meter_start_kwh": "100"})
    assert response.status_code == 200


def test_more_energy_than_the_connector_can_deliver_in_the_time_is_refused(
    backend: ChargingBackend, pending: ChargingSession
) -> None:
    started(pending)  # the site's connector delivers at most 150 kW: 25 kWh in 10 minutes

    response = call(
        pending.session_id,
        "meter-values",
        {"meter_values": [{"timestamp": at(pending, 10), "energy_kwh": "10099"}]},
    )

    assert response.status_code == 400
    assert "150" in response.json()["detail"]
    assert MeterReading.objects.count() == 1
    assert ChargingSession.objects.get().kwh == Decimal(0)


def test_a_stop_with_an_impossible_meter_register_is_refused_and_writes_nothing(
    backend: ChargingBackend, pending: ChargingSession
) -> None:
    started(pending)

    response = call(pending.session_id, "stopped", {"timestamp": at(pending, 10), "meter_stop_kwh": "10099"})

    assert response.status_code == 400
    assert "detail" in response.json()
    assert ChargingSession.objects.get().status == SessionStatus.ACTIVE
    assert MeterReading.objects.count() == 1
    assert not Cdr.objects.exists()


def test_energy_at_the_connectors_full_power_is_accepted(
    backend: ChargingBackend, pending: ChargingSession
) -> None:
    started(pending)

    response = call(
        pending.session_id,
        "meter-values",
        {"meter_values": [{"timestamp": at(pending, 10), "energy_kwh": "125"}]},
    )

    assert response.status_code == 200
    assert Decimal(response.json()["kwh"]) == Decimal(25)


@pytest.mark.parametrize(
    "values",
    [
        # Backwards against the stored register.
        [{"minutes": 5, "energy_kwh": "99"}],
        # Backwards within one batch.
        [{"minutes": 5, "energy_kwh": "105"}, {"minutes": 6, "energy_kwh": "104"}],
        # Plausible after the start, impossible from the value before it in the same batch.
        [{"minutes": 5, "energy_kwh": "101"}, {"minutes": 5.5, "energy_kwh": "110"}],
    ],
)
def test_a_meter_that_goes_backwards_or_jumps_is_refused_with_nothing_written(
    backend: ChargingBackend, pending: ChargingSession, values: list[dict[str, Any]]
) -> None:
    started(pending)
    body = {
        "meter_values": [
            {"timestamp": at(pending, value["minutes"]), "energy_kwh": value["energy_kwh"]}
            for value in values
        ]
    }

    response = call(pending.session_id, "meter-values", body)

    assert response.status_code == 400
    assert "detail" in response.json()
    assert MeterReading.objects.count() == 1


# --- Malformed requests: a clear 4xx JSON answer, never a 500 -----------------------------------


def post_raw(path: str, body: str | bytes) -> Any:
    return Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}").post(
        f"/chargers/api/v1/sessions/{path}", data=body, content_type="application/json"
    )


def assert_json_error(response: Any, status: int) -> Any:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_json_nested_thousands_deep_is_a_400(backend: ChargingBackend, pending: ChargingSession) -> None:
    for body in ("[" * 5000 + "]" * 5000, '{"a":' * 3000 + "1" + "}" * 3000):
        answer = assert_json_error(post_raw(f"{pending.session_id}/meter-values", body), 400)
        assert "nested" in json.dumps(answer)


def test_a_body_over_the_limit_is_a_413_naming_the_limit(
    backend: ChargingBackend, pending: ChargingSession, settings: Any
) -> None:
    body = json.dumps({"timestamp": at(pending, 1), "meter_start_kwh": "1", "meter_id": "x" * 3_000_000})

    answer = assert_json_error(post_raw(f"{pending.session_id}/started", body), 413)

    assert str(settings.API_MAX_BODY_BYTES) in answer["detail"]
    pending.refresh_from_db()
    assert pending.status == SessionStatus.PENDING


def test_a_lone_surrogate_is_a_400(backend: ChargingBackend, pending: ChargingSession) -> None:
    body = json.dumps({"result": "\ud800", "message": "no"})
    assert_json_error(post_raw(f"{pending.session_id}/start-failed", body), 400)


@pytest.mark.parametrize("session_id", ["%00", "A%00B"])
def test_a_nul_in_the_session_id_is_a_404(backend: ChargingBackend, session_id: str) -> None:
    body = json.dumps({"result": "FAILED"})
    assert "Unknown session" in assert_json_error(post_raw(f"{session_id}/start-failed", body), 404)["detail"]


def test_a_stop_before_the_start_is_a_409_and_the_session_keeps_running(
    backend: ChargingBackend, pending: ChargingSession
) -> None:
    started = call(pending.session_id, "started", {"timestamp": at(pending, 10), "meter_start_kwh": "100"})
    assert started.status_code == 200

    # Without a final meter register (it is optional) no reading is checked against the start.
    stopped = call(pending.session_id, "stopped", {"timestamp": at(pending, 5)})

    assert stopped.status_code == 409
    assert "before" in stopped.json()["detail"]
    pending.refresh_from_db()
    assert pending.status == SessionStatus.ACTIVE
    assert not Cdr.objects.exists()


@pytest.mark.parametrize("path", ["sessions/A/B/stopped", "sessions/X/unknown-event", "nothing", ""])
def test_an_unknown_path_is_a_json_404(backend: ChargingBackend, path: str) -> None:
    client = Client(HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    response = client.post(f"/chargers/api/v1/{path}", data="{}", content_type="application/json")

    assert response.status_code == 404
    assert response.json()["detail"] == "Unknown charger API endpoint."
