"""Payter's whole card payment over real HTTP: the PTP simulator process against the live portal.

The simulator pulls the location and tariff, sends START_SESSION with an authorization_reference,
receives the CommandResult; the simulated charger starts and a charging backend reports meter
values through the internal REST API; the simulator sends STOP_SESSION, reads the session and the
CDR through our Sender endpoints, and POSTs a FAC for the CDR's total. The CDR's total must equal
what the tariff engine computes from the stored meter readings, and the FAC must be linked.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.db import connection
from django.test import LiveServerTestCase
from django.utils import timezone

from chargers.models import ChargingBackend
from chargers.services import charging_backend_serve
from partners.models import Partner
from partners.services import partner_create
from payments.models import FinancialAdviceConfirmation
from ptp_simulator.process import SimulatorProcess
from sessions.models import Cdr, ChargingSession, SessionStatus
from tariffs import engine
from tariffs.engine_adapter import engine_tariff, meter_samples
from tests.flow.conftest import Site, make_site

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # The live server answers each request on its own thread, and with SQLite's in-memory test
    # database all of them and this test share one connection: concurrent requests interleave
    # inside each other's transactions. PostgreSQL (CI) gives each thread its own connection.
    pytest.mark.skipif(
        connection.vendor == "sqlite", reason="concurrent live-server requests need PostgreSQL"
    ),
]

BACKEND_TOKEN = "backend-" + secrets.token_urlsafe(16)


@pytest.fixture
def simulator_and_site(
    live_server: LiveServerTestCase, settings: Any
) -> Iterator[tuple[SimulatorProcess, Site]]:
    settings.OCPI_BASE_URL = live_server.url + "/ocpi"
    site = make_site(energy_price=Decimal("0.4500"), preauthorize_amount=Decimal("50.00"))
    partner: Partner = site.partner
    backend = ChargingBackend(name="Test backend")
    backend.set_token(BACKEND_TOKEN)
    backend.save()
    charging_backend_serve(backend=backend, evses=[site.evse])
    # The simulator accepts our calls with token B; we accept its calls with token C.
    with SimulatorProcess(tokens=[partner.token_b]) as simulator:
        simulator.control.action(
            "connect",
            versions_url=live_server.url + "/ocpi/versions",
            token=partner.plain_token_c,
            version="2.2.1",
        )
        yield simulator, site


def charger_api(live_server: LiveServerTestCase, session_id: str, event: str, body: dict[str, Any]) -> Any:
    response = httpx.post(
        f"{live_server.url}/chargers/api/v1/sessions/{session_id}/{event}",
        json=body,
        headers={"Authorization": f"Bearer {BACKEND_TOKEN}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_payters_card_payment_runs_end_to_end_over_http(
    simulator_and_site: tuple[SimulatorProcess, Site], live_server: LiveServerTestCase
) -> None:
    simulator, site = simulator_and_site
    control = simulator.control

    # 1. Payter pulls the location and the tariff it will show.
    crawled = control.action("crawl", modules=["locations", "tariffs"])["results"]
    assert [loc["id"] for loc in crawled["locations"]["objects"]] == [site.location_id]
    assert [tariff["id"] for tariff in crawled["tariffs"]["objects"]] == [site.tariff.tariff_id]

    # 2. START_SESSION with an authorization_reference; the CommandResult comes back ACCEPTED.
    start = control.command(
        "START_SESSION",
        wait=15,
        location_id=site.location_id,
        evse_uid=site.evse.uid,
        connector_id=site.connector.connector_id,
        authorization_reference="PAYTER-E2E-0001",
    )
    assert start["response"]["data"]["result"] == "ACCEPTED", start
    assert start["result"]["result"] == "ACCEPTED", start
    session = ChargingSession.objects.get(authorization_reference="PAYTER-E2E-0001")
    assert session.status == SessionStatus.ACTIVE

    # 3. The charging backend reports meter values through the internal REST API.
    begin = session.start_date_time
    # Minutes apart: the meter may not rise faster than the connector's 150 kW allow.
    readings = [
        (timedelta(minutes=1), "0.4000", "24.000"),
        (timedelta(minutes=2), "1.2500", "51.000"),
        (timedelta(minutes=3), "3.0000", "105.000"),
    ]
    for offset, energy, power in readings:
        state = charger_api(
            live_server,
            session.session_id,
            "meter-values",
            {
                "meter_values": [
                    {"timestamp": (begin + offset).isoformat(), "energy_kwh": energy, "power_kw": power}
                ]
            },
        )
    assert state["status"] == "ACTIVE"
    live_total = Decimal(state["total_cost_incl_vat"])

    # Payter sees the live session through our Sessions Sender interface.
    sessions = control.action("crawl", module="sessions")["results"]["sessions"]["objects"]
    assert [s["authorization_reference"] for s in sessions] == ["PAYTER-E2E-0001"]
    assert Decimal(str(sessions[0]["total_cost"]["incl_vat"])) == live_total

    # 4. STOP_SESSION from the terminal; the charger stops and the CDR is created at once.
    stop = control.command("STOP_SESSION", wait=15, session_id=session.session_id)
    assert stop["result"]["result"] == "ACCEPTED", stop
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED

    cdrs = control.action("crawl", module="cdrs")["results"]["cdrs"]["objects"]
    assert len(cdrs) == 1
    cdr_json = cdrs[0]
    assert cdr_json["authorization_reference"] == "PAYTER-E2E-0001"
    cdr_total = Decimal(str(cdr_json["total_cost"]["incl_vat"]))

    # The CDR's total is the tariff engine's for the stored readings, and the last live total.
    cdr = Cdr.objects.get(session=session)
    expected = engine.price_session(
        engine_tariff(site.tariff),
        meter_samples(session.meter_readings.order_by("timestamp")),
        time_zone=site.evse.location.time_zone,
        end=cdr.end_date_time,
    )
    assert cdr_total == expected.total_cost.after_taxes == cdr.total_cost_incl_vat
    assert cdr.total_cost_excl_vat == expected.total_cost.before_taxes == Decimal("1.35")  # 3 kWh x 0.45
    assert cdr_total == live_total

    # 5. Payter captures the amount and POSTs the FAC; it is linked to the session and the CDR.
    sent = control.action(
        "fac", authorization_reference="PAYTER-E2E-0001", amount_incl_vat=str(cdr_total), id="FAC-E2E-1"
    )
    assert sent["http_status"] == 201, sent  # a new FAC (status_codes: 201 Created)
    fac = FinancialAdviceConfirmation.objects.get(fac_id="FAC-E2E-1")
    assert (fac.session, fac.cdr) == (session, cdr)
    assert fac.total_costs_incl_vat == cdr_total
    assert timezone.now() - fac.received_at < timedelta(minutes=1)


def test_payters_transaction_after_registration_receives_session_and_cdr_pushes(
    live_server: LiveServerTestCase, settings: Any
) -> None:
    """Registration by handshake, then the simulator's own 'transaction' action: pushes, not pulls."""
    settings.OCPI_BASE_URL = live_server.url + "/ocpi"
    settings.ALLOWED_HOSTS = ["*"]
    partner, token_a = partner_create(name="Payter")
    backend = ChargingBackend(name="Test backend")
    backend.set_token(BACKEND_TOKEN)
    backend.save()
    with SimulatorProcess() as simulator:
        control = simulator.control
        control.action(
            "register", versions_url=live_server.url + "/ocpi/versions", token=token_a, version="2.3.0"
        )
        partner.refresh_from_db()
        site = make_site(partner=partner, energy_price=Decimal("0.4500"))
        charging_backend_serve(backend=backend, evses=[site.evse])

        steps: dict[str, Any] = {}

        def run_transaction() -> None:
            steps.update(
                control.action(
                    "transaction",
                    location_id=site.location_id,
                    evse_uid=site.evse.uid,
                    connector_id=site.connector.connector_id,
                    authorization_reference="PAYTER-E2E-0002",
                    stop_after=3,
                    timeout=30,
                )
            )

        payter = threading.Thread(target=run_transaction)
        payter.start()
        session = wait_for(
            lambda: ChargingSession.objects.filter(
                authorization_reference="PAYTER-E2E-0002", status=SessionStatus.ACTIVE
            ).first()
        )
        begin = session.start_date_time
        for offset, energy in ((1.0, "1.0000"), (2.0, "2.5000")):
            charger_api(
                live_server,
                session.session_id,
                "meter-values",
                {
                    "meter_values": [
                        {"timestamp": (begin + timedelta(minutes=offset)).isoformat(), "energy_kwh": energy}
                    ]
                },
            )
        payter.join(timeout=45)
        assert not payter.is_alive()

        assert steps.get("complete"), steps
        assert steps["start"]["result"]["result"] == "ACCEPTED"
        assert steps["stop"]["result"]["result"] == "ACCEPTED"
        pushed_sessions = [
            item["object"] for item in control.received("sessions").values() if item["object"] is not None
        ]
        assert any(s["authorization_reference"] == "PAYTER-E2E-0002" for s in pushed_sessions)
        session.refresh_from_db()
        assert session.status == SessionStatus.COMPLETED
        cdr = Cdr.objects.get(session=session)
        assert steps["cdr_id"] == cdr.cdr_id
        expected = engine.price_session(
            engine_tariff(site.tariff),
            meter_samples(session.meter_readings.order_by("timestamp")),
            time_zone=site.evse.location.time_zone,
            end=cdr.end_date_time,
        )
        assert cdr.total_cost_incl_vat == expected.total_cost.after_taxes
        assert cdr.total_cost_excl_vat >= Decimal("1.12")  # at least 2.5 kWh x 0.45
        fac = FinancialAdviceConfirmation.objects.get(authorization_reference="PAYTER-E2E-0002")
        assert (fac.session, fac.cdr) == (session, cdr)
        assert fac.total_costs_incl_vat == cdr.total_cost_incl_vat


def wait_for(find: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = find()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError("not found in time")
