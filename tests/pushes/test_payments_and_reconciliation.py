"""Payments towards the PTP (terminal assignments, data, activation), pulls by date_from, reconciliation."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx

from partners.models import Partner
from payments.models import PaymentTerminal
from ptp_simulator.ocpi import encode_token
from ptp_simulator.process import SimulatorProcess
from pushes import pulls, reconciliation, services
from pushes.models import OutboxMessage, PullCursor
from tests.factories import (
    CdrFactory,
    ChargingSessionFactory,
    EvseFactory,
    LocationFactory,
    PaymentTerminalFactory,
)
from tests.pushes.conftest import SIM_TOKEN


def test_terminals_are_pulled_incrementally_without_pushing_them_back(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    location = LocationFactory(location_id="LOC-T")
    sim.control.create_terminals(
        terminal={"terminal_id": "T-1", "location_ids": ["LOC-T"], "city": "Utrecht"}
    )
    sim.control.create_terminals(count=2)

    with committed():
        first = pulls.pull_all()
    with committed():
        second = pulls.pull_all()

    assert first == 3
    assert second <= 3  # only those stamped at or after the newest one seen (second precision)
    terminal = PaymentTerminal.objects.get(terminal_id="T-1")
    assert list(terminal.locations.all()) == [location]
    assert terminal.city == "Utrecht"
    assert PullCursor.objects.get(partner=payter, name="terminals").date_from is not None
    assert not OutboxMessage.objects.filter(module="payments").exists()


def test_a_terminal_assignment_change_is_a_patch_and_a_data_change_a_put(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    sim.control.create_terminals(terminal={"terminal_id": "T-2", "reference": "APOLLO-2"})
    with committed():
        pulls.pull_all()
    terminal = PaymentTerminal.objects.get(terminal_id="T-2")
    evse = EvseFactory(uid="EVSE-T2")

    with committed():
        terminal.locations.add(evse.location)
        terminal.evses.add(evse)
    with committed():
        terminal.invoice_base_url = "https://invoices.example.com/"
        terminal.save()

    history = sim.control.received("terminals", "T-2")["history"]
    assert [entry["method"] for entry in history] == ["PATCH", "PUT"]
    assert history[0]["body"] == {"location_ids": [evse.location.location_id], "evse_uids": ["EVSE-T2"]}
    stored = sim.control.received("terminals", "T-2")["object"]
    assert stored["invoice_base_url"] == "https://invoices.example.com/"
    assert stored["evse_uids"] == ["EVSE-T2"]


def test_terminals_are_activated_and_deactivated_at_the_ptp(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        services.terminal_activation_queued(partner=payter, reference="APOLLO-9", location_ids=["LOC-A"])
    activated = next(iter(sim.control.received("terminal_activations").values()))
    assert activated["history"][0]["body"] == {"reference": "APOLLO-9", "location_ids": ["LOC-A"]}

    sim.control.create_terminals(terminal={"terminal_id": "T-9"})
    terminal = PaymentTerminalFactory(partner=payter, terminal_id="T-9")
    with committed():
        services.terminal_deactivation_queued(terminal)

    assert sim.control.received("terminals", "T-9")["history"][-1]["target"] == "deactivate"


def test_a_financial_advice_confirmation_is_stored_from_either_price_shape_and_linked(
    payter: Partner,
) -> None:
    cdr = CdrFactory(session__partner=payter, session__authorization_reference="AUTH-FAC-1")
    common = {"authorization_reference": "AUTH-FAC-1", "currency": "EUR", "eft_data": ["VISA 1234"]}

    old_shape = pulls.fac_store(
        payter,
        {
            **common,
            "id": "F1",
            "total_costs": {"excl_vat": 4.88, "incl_vat": 5.9},
            "capture_status_code": "SUCCESS",
        },
    )
    new_shape = pulls.fac_store(
        payter,
        {
            **common,
            "id": "F2",
            "total_costs": {"before_taxes": 4.88, "taxes": [{"name": "VAT", "amount": 1.02}]},
            "capture_status_code": "PARTIAL_SUCCESS",
        },
    )

    assert (old_shape.total_costs_excl_vat, old_shape.total_costs_incl_vat) == (
        Decimal("4.88"),
        Decimal("5.9"),
    )
    assert (new_shape.total_costs_excl_vat, new_shape.total_costs_incl_vat) == (
        Decimal("4.88"),
        Decimal("5.90"),
    )
    assert (old_shape.cdr, old_shape.session) == (cdr, cdr.session)


def test_reconciliation_repushes_what_the_partner_lost_or_holds_differently(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        location = LocationFactory()
        cdr = CdrFactory(session__partner=payter)
        session = ChargingSessionFactory(partner=payter)
    cdr_key = f"{cdr.party.country_code}/{cdr.party.party_id}/{cdr.cdr_id}"
    location_key = f"{location.party.country_code}/{location.party.party_id}/{location.location_id}"
    # The partner loses everything, except a location that it keeps with a wrong name.
    sim.control.reset(keep_credentials=True)
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": encode_token(SIM_TOKEN)}) as ocpi:
        ocpi.put(
            f"/ocpi/2.2.1/locations/{location_key}",
            json={**sim_location(location), "name": "Somewhere else"},
        ).raise_for_status()

    with committed():
        repushed = reconciliation.reconcile_all()

    assert repushed >= 4  # our location, the CDR's location, both sessions, the CDR
    assert sim.control.received("locations", location_key)["object"]["name"] == location.name
    assert [e["method"] for e in sim.control.received("cdrs", cdr_key)["history"]] == ["POST"]
    session_key = f"{session.party.country_code}/{session.party.party_id}/{session.session_id}"
    assert sim.control.received("sessions", session_key)["history"][-1]["method"] == "PUT"
    with committed():
        assert reconciliation.reconcile_all() == 0  # the partner now holds what we hold


def sim_location(location: Any) -> dict[str, Any]:
    from pushes.payloads import body_for

    return body_for("location", location, "2.2.1")


def test_a_terminal_the_ptp_posts_to_us_is_not_pushed_back_to_it(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any], client: Any
) -> None:
    LocationFactory(location_id="LOC-P")
    with committed():
        response = client.post(
            "/ocpi/2.2.1/payments/terminals",
            {"terminal_id": "T-POSTED", "location_ids": ["LOC-P"]},
            content_type="application/json",
            headers={"Authorization": encode_token(payter.plain_token_c)},
        )

    assert response.json()["status_code"] == 1000
    assert PaymentTerminal.objects.get(terminal_id="T-POSTED").locations.count() == 1
    assert not OutboxMessage.objects.filter(module="payments").exists()
    assert sim.control.received("terminals") == {}


def test_a_pulled_terminal_naming_an_unknown_location_is_skipped_and_the_rest_stored(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    sim.control.create_terminals(terminal={"terminal_id": "T-BAD", "location_ids": ["NOWHERE"]})
    sim.control.create_terminals(terminal={"terminal_id": "T-GOOD"})

    with committed():
        stored = pulls.pull_all()

    assert stored == 1
    assert list(PaymentTerminal.objects.values_list("terminal_id", flat=True)) == ["T-GOOD"]
    assert "NOWHERE" in PullCursor.objects.get(partner=payter, name="terminals").last_error
