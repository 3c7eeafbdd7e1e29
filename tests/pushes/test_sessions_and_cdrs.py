"""Sessions and CDRs reach only the partner whose token started them; each CDR arrives once."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from partners.models import Partner
from ptp_simulator.process import SimulatorProcess
from pushes import retries, services
from pushes.models import DeliveryAttempt, ObjectType, OutboxMessage, PartnerCopy
from sessions.models import SessionStatus
from tests.factories import CdrFactory, ChargingSessionFactory
from tests.pushes.conftest import deliver_due_until

PERIOD_1 = {"start_date_time": "2026-01-01T10:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 2.5}]}
PERIOD_2 = {"start_date_time": "2026-01-01T10:15:00Z", "dimensions": [{"type": "ENERGY", "volume": 3}]}


def session_key(session: Any) -> str:
    return f"{session.party.country_code}/{session.party.party_id}/{session.session_id}"


def cdr_key(cdr: Any) -> str:
    return f"{cdr.party.country_code}/{cdr.party.party_id}/{cdr.cdr_id}"


def test_a_session_is_put_on_creation_then_patched_with_only_its_new_charging_periods(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        session = ChargingSessionFactory(partner=payter, charging_periods=[PERIOD_1])
    with committed():
        session.kwh = Decimal("5.5")
        session.charging_periods = [PERIOD_1, PERIOD_2]
        session.total_cost_excl_vat = Decimal("2.15")
        session.save()

    entries = sim.control.received("sessions", session_key(session))["history"]
    assert [entry["method"] for entry in entries] == ["PUT", "PATCH"]
    assert entries[1]["body"]["charging_periods"] == [PERIOD_2]
    assert set(entries[1]["body"]) == {"kwh", "charging_periods", "total_cost", "last_updated"}
    stored = sim.control.received("sessions", session_key(session))["object"]
    assert stored["charging_periods"] == [PERIOD_1, PERIOD_2]
    assert stored["kwh"] == 5.5


def test_a_session_whose_earlier_periods_changed_is_put_whole(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        session = ChargingSessionFactory(partner=payter, charging_periods=[PERIOD_1])
    with committed():
        session.charging_periods = [PERIOD_2]
        session.save()

    entries = sim.control.received("sessions", session_key(session))["history"]
    assert [entry["method"] for entry in entries] == ["PUT", "PUT"]
    assert sim.control.received("sessions", session_key(session))["object"]["charging_periods"] == [PERIOD_2]


def test_a_partner_never_receives_another_partners_session_or_cdr(
    payter: Partner,
    other_partner: Partner,
    sim: SimulatorProcess,
    other_sim: SimulatorProcess,
    committed: Callable[..., Any],
) -> None:
    with committed():
        payter_cdr = CdrFactory(session__partner=payter)
        other_cdr = CdrFactory(session__partner=other_partner)
        payter_live = ChargingSessionFactory(partner=payter)

    assert set(sim.control.received("sessions")) == {
        session_key(payter_cdr.session),
        session_key(payter_live),
    }
    assert set(sim.control.received("cdrs")) == {cdr_key(payter_cdr)}
    assert set(other_sim.control.received("sessions")) == {session_key(other_cdr.session)}
    assert set(other_sim.control.received("cdrs")) == {cdr_key(other_cdr)}
    for kind, obj in ((ObjectType.CDR, other_cdr), (ObjectType.SESSION, other_cdr.session)):
        # Object ids are per table: the type is part of the key (a location may share the pk).
        assert not OutboxMessage.objects.filter(
            partner=payter, copy__object_type=kind, copy__object_id=str(obj.pk)
        ).exists()


def test_a_cdr_is_posted_once_and_the_partners_location_url_is_kept(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    with committed():
        cdr = CdrFactory(session__partner=payter)
    with committed():
        services.cdr_created(cdr)  # a second notification of the same CDR

    copy = PartnerCopy.objects.get(object_type="cdr")
    assert copy.remote_url == f"{sim.base_url}/ocpi/2.2.1/cdrs/{cdr_key(cdr)}"
    assert [entry["method"] for entry in sim.control.received("cdrs", cdr_key(cdr))["history"]] == ["POST"]
    assert OutboxMessage.objects.filter(action="POST_CDR").count() == 1


def test_a_cdr_post_that_timed_out_after_the_partner_stored_it_is_not_posted_again(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any], push_settings: Any
) -> None:
    # The partner stores the CDR but answers after our 1 s timeout: the outcome is unknown to us.
    push_settings.PUSH_UNKNOWN_OUTCOME_SETTLE_SECONDS = 1.0
    sim.control.fault("/ocpi/2.2.1/cdrs", "slow", seconds=1.5, count=1)
    with committed():
        cdr = CdrFactory(session__partner=payter, session__status=SessionStatus.COMPLETED)
    message = OutboxMessage.objects.get(action="POST_CDR")
    assert (message.state, message.outcome_unknown) == (OutboxMessage.State.PENDING, True)

    deliver_due_until(lambda: OutboxMessage.objects.get(pk=message.pk).state == "DELIVERED", committed)

    message.refresh_from_db()
    history = sim.control.received("cdrs", cdr_key(cdr))["history"]
    assert [entry["method"] for entry in history] == ["POST"]  # no duplicate entry
    outcomes = list(
        DeliveryAttempt.objects.filter(message=message).order_by("id").values_list("outcome", flat=True)
    )
    assert outcomes == ["UNKNOWN", "PROBE"]


def test_a_cdr_the_partner_did_not_store_is_posted_again_after_the_check(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any]
) -> None:
    # The connection drops before the partner handles the POST: unknown to us, absent there.
    sim.control.fault("/ocpi/2.2.1/cdrs", "down", count=1)
    with committed():
        cdr = CdrFactory(session__partner=payter)

    with committed():
        retries.messages_requeue_due()

    assert [entry["method"] for entry in sim.control.received("cdrs", cdr_key(cdr))["history"]] == ["POST"]
    outcomes = list(
        DeliveryAttempt.objects.filter(message__action="POST_CDR")
        .order_by("id")
        .values_list("outcome", flat=True)
    )
    assert outcomes == ["UNKNOWN", "PROBE", "DELIVERED"]
