"""The domain tells the outbox what model saves do not: partners.outbox, implemented by pushes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from locations.models import Location
from partners import outbox
from partners.models import Partner
from ptp_simulator.process import SimulatorProcess
from pushes.models import OutboxMessage
from tests.factories import LocationFactory


def test_a_bulk_write_told_to_the_outbox_reaches_the_partner(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        location = LocationFactory(name="Before")

    with committed():
        # update() sends no model signal: the writer says what changed.
        Location.objects.filter(pk=location.pk).update(name="After")
        location.refresh_from_db()
        outbox.changed(location, ["name"])

    key = f"{location.party.country_code}/{location.party.party_id}/{location.location_id}"
    assert sim.control.received("locations", key)["object"]["name"] == "After"


def test_a_change_saved_on_a_partners_behalf_is_not_sent_back_to_it(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        location = LocationFactory(name="Before")
    sent = OutboxMessage.objects.filter(partner=payter).count()

    with committed(), outbox.received_from(payter):
        location.name = "Theirs"
        location.save()

    assert OutboxMessage.objects.filter(partner=payter).count() == sent
    assert outbox.sender_of_changes() is None  # the scope ends with the block
