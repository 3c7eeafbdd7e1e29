"""Locations, EVSEs, connectors and tariffs reach the partner: PUT first, then PATCHes of the net change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from locations.models import Evse, EvseStatus
from partners.models import Partner
from ptp_simulator.process import SimulatorProcess
from pushes import retries
from pushes.models import OutboxMessage, PartnerCopy
from pushes.payloads import body_for
from tests.factories import (
    ConnectorFactory,
    EvseFactory,
    LocationFactory,
    PartyFactory,
    TariffElementFactory,
    TariffFactory,
)


def history(sim: SimulatorProcess, module: str, key: str) -> list[dict[str, Any]]:
    return sim.control.received(module, key).get("history", [])


def strip_last_updated(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_last_updated(v) for k, v in value.items() if k != "last_updated"}
    if isinstance(value, list):
        return [strip_last_updated(v) for v in value]
    return value


def test_a_new_location_is_put_whole_with_its_evses_and_connectors(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        location = LocationFactory()
        evse = EvseFactory(location=location)
        ConnectorFactory(evse=evse)

    key = f"{location.party.country_code}/{location.party.party_id}/{location.location_id}"
    stored = sim.control.received("locations", key)["object"]
    assert history(sim, "locations", key)[0]["method"] == "PUT"
    assert strip_last_updated(stored) == strip_last_updated(body_for("location", location, "2.2.1"))
    assert stored["evses"][0]["connectors"][0]["id"] == "1"
    assert not OutboxMessage.objects.filter(state__in=("PENDING", "IN_FLIGHT")).exists()


def test_an_evse_status_change_is_a_patch_of_status_and_last_updated_on_the_fast_queue(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        evse = EvseFactory()
        ConnectorFactory(evse=evse)

    with committed():
        evse.status = EvseStatus.CHARGING
        evse.save(update_fields=["status"])

    location = evse.location
    key = f"{location.party.country_code}/{location.party.party_id}/{location.location_id}"
    last = history(sim, "locations", key)[-1]
    assert last["method"] == "PATCH"
    assert last["path"].endswith(f"/{location.location_id}/{evse.uid}")
    assert set(last["body"]) == {"status", "last_updated"}
    assert last["body"]["status"] == "CHARGING"
    assert OutboxMessage.objects.filter(fast=True, state="DELIVERED").count() == 1


def test_an_admin_style_save_without_update_fields_still_detects_a_status_change(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        evse = EvseFactory()

    with committed():
        evse.status = EvseStatus.OUTOFORDER
        evse.save()

    message = OutboxMessage.objects.filter(copy__object_type="evse").latest("id")
    assert message.changed_fields == ["status"]
    assert message.fast is True
    location = evse.location
    key = f"{location.party.country_code}/{location.party.party_id}/{location.location_id}"
    assert sim.control.received("locations", key)["object"]["evses"][0]["status"] == "OUTOFORDER"


def test_changes_during_an_outage_reach_the_partner_as_one_patch_of_the_net_change(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        evse = EvseFactory()
    location = evse.location
    key = f"{location.party.country_code}/{location.party.party_id}/{location.location_id}"
    sim.control.fault("/ocpi/2.2.1/locations", "down")

    for status in (EvseStatus.CHARGING, EvseStatus.AVAILABLE, EvseStatus.BLOCKED, EvseStatus.CHARGING):
        with committed():
            evse.status = status
            evse.save(update_fields=["status"])
    with committed():
        evse.floor_level = "-1"
        evse.save(update_fields=["floor_level"])

    open_messages = OutboxMessage.objects.filter(state__in=("PENDING", "IN_FLIGHT"), copy__object_type="evse")
    # The message that failed went back to pending and absorbed every later change.
    assert open_messages.count() == 1
    assert open_messages.get().changed_fields == ["floor_level", "status"]
    sim.control.clear_faults()
    with committed():
        retries.messages_requeue_due()

    patches = [entry for entry in history(sim, "locations", key) if entry["method"] == "PATCH"]
    assert [set(entry["body"]) for entry in patches] == [{"status", "floor_level", "last_updated"}]
    stored = sim.control.received("locations", key)["object"]["evses"][0]
    assert (stored["status"], stored["floor_level"]) == ("CHARGING", "-1")
    assert not OutboxMessage.objects.filter(state__in=("PENDING", "IN_FLIGHT")).exists()


def test_locations_go_only_to_partners_allowed_to_see_their_party(
    payter: Partner,
    other_partner: Partner,
    sim: SimulatorProcess,
    other_sim: SimulatorProcess,
    committed: Callable[..., Any],
) -> None:
    ours, theirs = PartyFactory(party_id="AAA"), PartyFactory(party_id="BBB")
    other_partner.parties.add(theirs)

    with committed():
        LocationFactory(party=ours, location_id="ONLY-PAYTER")
        LocationFactory(party=theirs, location_id="BOTH")

    assert set(sim.control.received("locations")) == {"NL/AAA/ONLY-PAYTER", "NL/BBB/BOTH"}
    assert set(other_sim.control.received("locations")) == {"NL/BBB/BOTH"}


def test_evse_and_connector_changes_go_only_to_partners_allowed_to_see_their_party(
    payter: Partner,
    other_partner: Partner,
    sim: SimulatorProcess,
    other_sim: SimulatorProcess,
    committed: Callable[..., Any],
) -> None:
    """An EVSE's or connector's party is found through its location, inside the recipients query."""
    ours, theirs = PartyFactory(party_id="AAA"), PartyFactory(party_id="BBB")
    other_partner.parties.add(theirs)
    with committed():
        hidden = ConnectorFactory(evse__location=LocationFactory(party=ours, location_id="HIDDEN"))
        shared = ConnectorFactory(evse__location=LocationFactory(party=theirs, location_id="SHARED"))
    sim.control.reset(keep_credentials=True)
    other_sim.control.reset(keep_credentials=True)

    with committed():
        for connector in (hidden, shared):
            evse = Evse.objects.get(pk=connector.evse_id)  # as the charger gateway loads it
            evse.status = EvseStatus.CHARGING
            evse.save(update_fields=["status"])
            connector.max_amperage = 16
            connector.save()

    def targets(simulator: SimulatorProcess) -> set[tuple[str, str]]:
        return {
            (key, entry["target"])
            for key, item in simulator.control.received("locations").items()
            for entry in item["history"]
        }

    assert targets(sim) == {
        ("NL/AAA/HIDDEN", "evse"),
        ("NL/AAA/HIDDEN", "connector"),
        ("NL/BBB/SHARED", "evse"),
        ("NL/BBB/SHARED", "connector"),
    }
    assert targets(other_sim) == {("NL/BBB/SHARED", "evse"), ("NL/BBB/SHARED", "connector")}


def test_a_partner_without_a_receiver_endpoint_gets_nothing(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    payter.endpoints.filter(module="locations").delete()

    with committed():
        LocationFactory()

    assert sim.control.received("locations") == {}
    assert not OutboxMessage.objects.exists()


def test_a_tariff_is_put_on_change_and_deleted_when_withdrawn(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        tariff = TariffFactory()
        TariffElementFactory(tariff=tariff)
    key = f"{tariff.party.country_code}/{tariff.party.party_id}/{tariff.tariff_id}"
    with committed():
        tariff.tariff_alt_url = "https://example.com/prices"
        tariff.save()
    with committed():
        tariff.delete()

    entries = history(sim, "tariffs", key)
    assert [entry["method"] for entry in entries] == ["PUT", "PUT", "DELETE"]
    assert entries[1]["body"]["tariff_alt_url"] == "https://example.com/prices"
    assert sim.control.received("tariffs", key)["deleted"] is True


def test_a_tariff_withdrawn_before_the_partner_got_it_is_never_sent(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    sim.control.fault("/ocpi/2.2.1/tariffs", "http_500")
    with committed():
        tariff = TariffFactory()
    with committed():
        tariff.delete()
    sim.control.clear_faults()

    with committed():
        retries.messages_requeue_due()

    assert sim.control.received("tariffs") == {}
    assert PartnerCopy.objects.get(object_type="tariff").deleted is True
    assert OutboxMessage.objects.get().state == OutboxMessage.State.DELIVERED


def test_an_evse_status_change_writes_its_outbox_row_in_few_queries(
    payter: Partner, django_assert_max_num_queries: Any, committed: Callable[..., Any]
) -> None:
    with committed():
        evse = EvseFactory()

    evse.status = EvseStatus.CHARGING
    with django_assert_max_num_queries(12):
        evse.save(update_fields=["status"])
