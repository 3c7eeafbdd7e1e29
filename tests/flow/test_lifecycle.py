"""The session lifecycle through the services: commands, the simulated charger, pricing, the CDR."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from chargers.models import SimulatedCharger
from chargers.services import charger_stops_resend
from chargers.simulated import simulated_chargers_tick
from locations.models import EvseStatus
from payments.services import fac_upsert
from pushes.models import OutboxMessage
from pushes.services import messages_requeue_due
from sessions.models import (
    Cdr,
    CdrImmutableError,
    ChargingSession,
    CommandResponseType,
    CommandResultType,
    CommandType,
    MeterReading,
    ReceivedCommand,
    SessionStatus,
)
from sessions.services import (
    CommandParameterError,
    MeterValue,
    SessionStateError,
    UnknownLocationError,
    cdr_credit_and_correct,
    command_receive,
    session_charger_started,
    session_charger_stopped,
    session_meter_values,
    session_start_failed,
    sessions_expire_pending,
)
from tariffs import engine
from tariffs.pricing import engine_tariff, meter_samples
from tests.factories import (
    ConnectorFactory,
    EvseFactory,
    PartnerFactory,
    PartyFactory,
    TariffElementFactory,
)
from tests.flow.conftest import ResultReceiver, Site, ad_hoc_token, make_site, simulate, start_body

pytestmark = pytest.mark.django_db


def run_parked_retries(capture_on_commit_callbacks: Any) -> None:
    """What the beat task does over minutes: make parked retries due and deliver them."""
    for _ in range(10):
        OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING).update(
            next_attempt_at=timezone.now(), requeued_at=None
        )
        with capture_on_commit_callbacks(execute=True):
            if not messages_requeue_due():
                return


def start(site: Site, receiver: ResultReceiver, command_id: str = "c1", **changes: Any) -> ReceivedCommand:
    return command_receive(
        partner=site.partner,
        command=CommandType.START_SESSION,
        body=start_body(site, receiver.url("START_SESSION", command_id), **changes),
        version="2.2.1",
    )


def started_session(site: Site, receiver: ResultReceiver, capture: Any) -> ChargingSession:
    with capture(execute=True):
        command = start(site, receiver)
    assert command.session is not None
    command.session.refresh_from_db()
    return command.session


def test_an_accepted_start_session_creates_a_pending_session_with_token_and_reference(
    site: Site, result_receiver: ResultReceiver
) -> None:
    command = start(site, result_receiver)

    assert command.response_result == CommandResponseType.ACCEPTED
    assert command.command_response == {"result": "ACCEPTED", "timeout": 180}
    session = command.session
    assert session is not None
    assert session.status == SessionStatus.PENDING
    assert session.authorization_reference == "PAYTER-AUTH-0001"
    assert session.cdr_token["uid"] == "PTR-CARD-0001"
    assert session.cdr_token["type"] == "AD_HOC_USER"
    assert session.tariff == site.tariff
    assert session.preauthorized_amount == Decimal("25.00")


def test_a_replayed_command_returns_the_first_answer_and_creates_no_second_session(
    site: Site, result_receiver: ResultReceiver
) -> None:
    first = start(site, result_receiver)
    again = start(site, result_receiver)

    assert again.pk == first.pk
    assert ChargingSession.objects.count() == 1
    assert ReceivedCommand.objects.count() == 1


def test_the_same_authorization_reference_again_answers_with_the_session_it_started(
    site: Site, result_receiver: ResultReceiver
) -> None:
    first = start(site, result_receiver, command_id="c1")
    second = start(site, result_receiver, command_id="c2")

    assert second.pk != first.pk
    assert second.session_id == first.session_id
    assert ChargingSession.objects.count() == 1


def test_the_same_authorization_reference_on_another_evse_is_rejected_naming_its_session(
    site: Site, result_receiver: ResultReceiver
) -> None:
    other = EvseFactory(location=site.evse.location)
    ConnectorFactory(evse=other).tariffs.add(site.tariff)
    first = start(site, result_receiver, command_id="c1")

    second = start(site, result_receiver, command_id="c2", evse_uid=other.uid)

    assert first.session is not None
    assert second.response_result == CommandResponseType.REJECTED
    assert second.session is None
    assert "PAYTER-AUTH-0001" in second.response_message
    assert first.session.session_id in second.response_message
    assert site.evse.uid in second.response_message
    assert ChargingSession.objects.count() == 1


def test_the_same_authorization_reference_with_another_card_is_rejected(
    site: Site, result_receiver: ResultReceiver
) -> None:
    start(site, result_receiver, command_id="c1")

    second = start(site, result_receiver, command_id="c2", token=ad_hoc_token("PTR-CARD-0002"))

    assert second.response_result == CommandResponseType.REJECTED
    assert ChargingSession.objects.count() == 1


def test_a_reference_whose_session_failed_to_start_may_start_again(
    site: Site, result_receiver: ResultReceiver
) -> None:
    first = start(site, result_receiver, command_id="c1")
    assert first.session is not None
    session_start_failed(session=first.session, message="No vehicle.")

    second = start(site, result_receiver, command_id="c2")

    assert second.response_result == CommandResponseType.ACCEPTED
    assert second.session is not None
    assert second.session != first.session
    assert ChargingSession.objects.exclude(status=SessionStatus.INVALID).count() == 1


def test_the_database_refuses_a_second_session_for_one_authorization_reference(
    site: Site, result_receiver: ResultReceiver
) -> None:
    first = start(site, result_receiver, command_id="c1")
    assert first.session is not None
    copy = ChargingSession.objects.get(pk=first.session.pk)
    copy.pk, copy.session_id = None, "another-session"

    # PostgreSQL names the constraint; SQLite names its columns.
    refused = r"session_one_per_authorization|chargingsession\.partner_id, \S+\.authorization_reference"
    with pytest.raises(IntegrityError, match=refused), transaction.atomic():
        copy.save()


def test_an_unknown_location_is_refused_with_2003(site: Site, result_receiver: ResultReceiver) -> None:
    with pytest.raises(UnknownLocationError) as refused:
        start(site, result_receiver, location_id="NOWHERE")

    assert refused.value.status_code == 2003
    assert not ChargingSession.objects.exists()
    assert not ReceivedCommand.objects.exists()


def test_a_location_of_a_party_the_partner_may_not_use_is_unknown(
    site: Site, result_receiver: ResultReceiver
) -> None:
    other = make_site(party=PartyFactory(party_id="OTH"), partner=PartnerFactory(name="Other PTP"))
    site.partner.parties.add(site.party)
    other_party_location = other.location_id

    with pytest.raises(UnknownLocationError):
        start(site, result_receiver, location_id=other_party_location)


def test_an_evse_of_another_location_is_rejected(site: Site, result_receiver: ResultReceiver) -> None:
    elsewhere = EvseFactory()

    command = start(site, result_receiver, evse_uid=elsewhere.uid)

    assert command.response_result == CommandResponseType.REJECTED
    assert "is not at location" in command.response_message
    assert not ChargingSession.objects.exists()


def test_a_connector_that_is_not_on_the_evse_is_rejected(site: Site, result_receiver: ResultReceiver) -> None:
    command = start(site, result_receiver, connector_id="9")

    assert command.response_result == CommandResponseType.REJECTED
    assert "Connector '9'" in command.response_message


def test_an_evse_that_is_not_available_is_rejected(site: Site, result_receiver: ResultReceiver) -> None:
    site.evse.status = EvseStatus.OUTOFORDER
    site.evse.save()

    command = start(site, result_receiver)

    assert command.response_result == CommandResponseType.REJECTED
    assert "not available" in command.response_message


def test_a_connector_is_required_where_the_evse_says_so(site: Site, result_receiver: ResultReceiver) -> None:
    site.evse.capabilities = [*site.evse.capabilities, "START_SESSION_CONNECTOR_REQUIRED"]
    site.evse.save()

    with pytest.raises(CommandParameterError, match="START_SESSION_CONNECTOR_REQUIRED"):
        start(site, result_receiver, connector_id=None)
    assert not ChargingSession.objects.exists()


def test_a_second_start_on_an_occupied_evse_is_rejected(site: Site, result_receiver: ResultReceiver) -> None:
    start(site, result_receiver, command_id="c1")

    second = start(site, result_receiver, command_id="c2", authorization_reference="PAYTER-AUTH-0002")

    assert second.response_result == CommandResponseType.REJECTED
    assert "occupied" in second.response_message


def test_reservations_are_answered_not_supported(site: Site, result_receiver: ResultReceiver) -> None:
    command = command_receive(
        partner=site.partner,
        command=CommandType.RESERVE_NOW,
        body={"response_url": result_receiver.url("RESERVE_NOW", "r1"), "reservation_id": "R1"},
        version="2.3.0",
    )

    assert command.response_result == CommandResponseType.NOT_SUPPORTED


def test_the_simulated_charger_starts_the_session_and_the_result_is_posted(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)

    assert session.status == SessionStatus.ACTIVE
    assert result_receiver.bodies("c1") == [{"result": "ACCEPTED"}]
    command = ReceivedCommand.objects.get()
    assert command.delivered_at is not None
    assert command.delivery_attempts == 1
    site.evse.refresh_from_db()
    assert site.evse.status == EvseStatus.CHARGING


def test_a_charger_that_rejects_the_start_makes_the_session_invalid(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    simulate(site.evse, SimulatedCharger.Behaviour.REJECT)

    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)

    assert session.status == SessionStatus.INVALID
    assert result_receiver.bodies("c1")[0]["result"] == "REJECTED"


def test_a_pending_session_without_a_vehicle_expires_and_the_result_says_timeout(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    simulate(site.evse, SimulatedCharger.Behaviour.NO_VEHICLE)
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    assert session.status == SessionStatus.PENDING
    assert result_receiver.bodies("c1") == []

    with django_capture_on_commit_callbacks(execute=True):
        assert sessions_expire_pending(now=timezone.now() + timedelta(seconds=60)) == 0
        assert sessions_expire_pending(now=timezone.now() + timedelta(seconds=181)) == 1

    session.refresh_from_db()
    assert session.status == SessionStatus.INVALID
    assert result_receiver.bodies("c1")[0]["result"] == "TIMEOUT"
    # The charger's late start changes nothing: the session stays INVALID.
    with pytest.raises(SessionStateError):
        session_charger_started(session=session, timestamp=timezone.now(), meter_start_kwh=Decimal(0))


def test_meter_values_give_the_live_total_cost_of_the_tariff_engine(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    begin = session.start_date_time

    session_meter_values(
        session=session,
        values=[
            MeterValue(begin + timedelta(minutes=10), Decimal("1.8333"), Decimal("11.000"), Decimal("16.00")),
            MeterValue(begin + timedelta(minutes=20), Decimal("3.6667"), Decimal("11.000"), Decimal("16.00")),
        ],
    )

    session.refresh_from_db()
    expected = engine.price_session(
        engine_tariff(site.tariff),
        meter_samples(session.meter_readings.all()),
        time_zone="Europe/Amsterdam",
    )
    assert session.kwh == Decimal("3.6667")
    assert session.total_cost_excl_vat == expected.total_cost.before_taxes == Decimal("1.47")
    assert session.total_cost_incl_vat == expected.total_cost.after_taxes == Decimal("1.77")
    dimensions = {d["type"] for d in session.charging_periods[0]["dimensions"]}
    assert {"ENERGY", "TIME", "MAX_POWER", "MIN_POWER", "MAX_CURRENT", "MIN_CURRENT"} <= dimensions


def test_a_meter_that_goes_backwards_is_refused_and_stores_nothing(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    begin = session.start_date_time
    session_meter_values(session=session, values=[MeterValue(begin + timedelta(minutes=5), Decimal(2))])

    with pytest.raises(SessionStateError, match="backwards"):
        session_meter_values(session=session, values=[MeterValue(begin + timedelta(minutes=6), Decimal(1))])
    assert MeterReading.objects.filter(session=session).count() == 2


def test_the_stop_completes_the_session_and_the_cdr_total_equals_the_last_live_total(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    begin = session.start_date_time
    session_meter_values(session=session, values=[MeterValue(begin + timedelta(minutes=30), Decimal("5.5"))])
    session_meter_values(session=session, values=[MeterValue(begin + timedelta(minutes=45), Decimal("8.25"))])
    session.refresh_from_db()
    live_excl, live_incl = session.total_cost_excl_vat, session.total_cost_incl_vat

    session_charger_stopped(
        session=session, timestamp=begin + timedelta(minutes=45), meter_stop_kwh=Decimal("8.25")
    )

    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    cdr = Cdr.objects.get(session=session)
    assert (cdr.total_cost_excl_vat, cdr.total_cost_incl_vat) == (live_excl, live_incl)
    assert cdr.total_cost_excl_vat == Decimal("3.30")  # 8.25 kWh x 0.40
    assert cdr.total_energy_cost_excl_vat == Decimal("3.30")
    assert cdr.total_energy == Decimal("8.25")
    assert cdr.total_time == Decimal("0.750000")
    assert cdr.authorization_reference == "PAYTER-AUTH-0001"
    assert cdr.cdr_token["uid"] == "PTR-CARD-0001"
    assert cdr.cdr_location["evse_uid"] == site.evse.uid
    assert cdr.tariffs[0]["id"] == site.tariff.tariff_id
    assert cdr.tariffs[0]["elements"][0]["price_components"][0]["price"] == 0.4
    assert cdr.invoice_reference_id == ""  # Payter invoices by default
    site.evse.refresh_from_db()
    assert site.evse.status == EvseStatus.AVAILABLE


def test_a_replayed_stop_changes_nothing_and_the_cdr_is_immutable(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    end = session.start_date_time + timedelta(minutes=10)
    session_charger_stopped(session=session, timestamp=end, meter_stop_kwh=Decimal(2))

    session_charger_stopped(session=session, timestamp=end + timedelta(minutes=1), meter_stop_kwh=Decimal(3))

    cdr = Cdr.objects.get()
    assert cdr.total_energy == Decimal(2)
    with pytest.raises(CdrImmutableError):
        cdr.save()
    with pytest.raises(SessionStateError):
        session_meter_values(session=session, values=[MeterValue(end + timedelta(minutes=2), Decimal(4))])


def test_a_cpo_that_invoices_puts_an_invoice_reference_in_the_cdr(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    site.party.invoice_creator = "CPO"
    site.party.save()
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)

    session_charger_stopped(
        session=session, timestamp=session.start_date_time + timedelta(minutes=5), meter_stop_kwh=Decimal(1)
    )

    assert Cdr.objects.get().invoice_reference_id == f"INV-{session.session_id}"


def test_the_session_stops_itself_before_it_costs_more_than_was_preauthorised(
    db: None, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    site = make_site(preauthorize_amount=Decimal("5.00"))  # 0.484 per kWh incl. VAT; stop at 4.50
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    begin = session.start_date_time

    reports = 0
    while session.status == SessionStatus.ACTIVE and reports < 10:
        reports += 1  # 2 kWh (0.968 incl. VAT) every 10 minutes
        with django_capture_on_commit_callbacks(execute=True):
            session_meter_values(
                session=session,
                values=[MeterValue(begin + timedelta(minutes=10 * reports), Decimal(2 * reports))],
            )
        session.refresh_from_db()

    # After 4 reports the cost is 3.87 and a 5th would make it 4.84, past 4.50: it stops at once.
    assert reports == 4
    assert session.status == SessionStatus.COMPLETED
    assert "pre-authorised" in session.stop_reason
    cdr = Cdr.objects.get()
    assert cdr.total_cost_incl_vat is not None
    assert cdr.total_cost_incl_vat <= Decimal("5.00")


def test_a_stop_session_of_another_partner_is_an_unknown_session(
    site: Site, result_receiver: ResultReceiver
) -> None:
    start(site, result_receiver)
    session = ChargingSession.objects.get()
    stranger = PartnerFactory(name="Stranger")

    command = command_receive(
        partner=stranger,
        command=CommandType.STOP_SESSION,
        body={"response_url": result_receiver.url("STOP_SESSION", "s1"), "session_id": session.session_id},
        version="2.2.1",
    )

    assert command.response_result == CommandResponseType.UNKNOWN_SESSION
    session.refresh_from_db()
    assert session.stop_requested_at is None


def test_stop_session_stops_the_charger_and_posts_the_result(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        command = command_receive(
            partner=site.partner,
            command=CommandType.STOP_SESSION,
            body={
                "response_url": result_receiver.url("STOP_SESSION", "s1"),
                "session_id": session.session_id,
            },
            version="2.2.1",
        )

    assert command.response_result == CommandResponseType.ACCEPTED
    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    assert result_receiver.bodies("s1") == [{"result": "ACCEPTED"}]
    assert Cdr.objects.filter(session=session).exists()


def test_unlock_connector_is_sent_to_the_charger(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        command = command_receive(
            partner=site.partner,
            command=CommandType.UNLOCK_CONNECTOR,
            body={
                "response_url": result_receiver.url("UNLOCK_CONNECTOR", "u1"),
                "location_id": site.location_id,
                "evse_uid": site.evse.uid,
                "connector_id": site.connector.connector_id,
            },
            version="2.3.0",
        )

    assert command.response_result == CommandResponseType.ACCEPTED
    assert result_receiver.bodies("u1") == [{"result": "ACCEPTED"}]


def test_the_command_result_is_retried_until_the_partner_takes_it(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    result_receiver.failures = [500, 503]

    started_session(site, result_receiver, django_capture_on_commit_callbacks)
    assert ReceivedCommand.objects.get().delivery_attempts == 1  # the retry waits in the outbox
    run_parked_retries(django_capture_on_commit_callbacks)

    command = ReceivedCommand.objects.get()
    assert command.result == CommandResultType.ACCEPTED
    assert command.delivery_attempts == 3
    assert command.delivered_at is not None
    assert result_receiver.bodies("c1") == [{"result": "ACCEPTED"}]


def test_the_simulated_charger_reports_meter_values_at_its_power(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    simulate(site.evse, SimulatedCharger.Behaviour.ACCEPT, power_kw=Decimal("22.000"))
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)

    assert simulated_chargers_tick(now=session.start_date_time + timedelta(minutes=30)) == 1

    session.refresh_from_db()
    assert session.kwh == Decimal("11.0000")
    assert session.total_cost_excl_vat == Decimal("4.40")


def test_crediting_a_cdr_adds_a_negative_credit_cdr_and_a_corrected_one(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    session_charger_stopped(
        session=session, timestamp=session.start_date_time + timedelta(minutes=30), meter_stop_kwh=Decimal(10)
    )
    original = Cdr.objects.get()

    credit, corrected = cdr_credit_and_correct(
        cdr=original,
        corrections={"total_cost_excl_vat": Decimal("3.00"), "total_cost_incl_vat": Decimal("3.63")},
        remark="Goodwill",
    )

    assert credit.credit is True
    assert credit.credit_reference_id == original.cdr_id
    assert credit.total_cost_excl_vat == -original.total_cost_excl_vat
    assert corrected is not None
    assert corrected.total_cost_incl_vat == Decimal("3.63")
    assert corrected.authorization_reference == original.authorization_reference
    with pytest.raises(SessionStateError, match="already been credited"):
        cdr_credit_and_correct(cdr=original)


def test_a_meter_value_update_takes_a_bounded_number_of_queries_however_long_the_session(
    site: Site,
    result_receiver: ResultReceiver,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    begin = session.start_date_time
    for minute in range(1, 121):
        MeterReading.objects.create(
            session=session, timestamp=begin + timedelta(minutes=minute), energy_kwh=minute
        )

    with django_assert_max_num_queries(QUERIES_PER_METER_UPDATE):
        session_meter_values(
            session=session, values=[MeterValue(begin + timedelta(minutes=121), Decimal(121))]
        )


# Lock, stored registers, insert, all readings, save, and the push outbox's writes (11 measured).
QUERIES_PER_METER_UPDATE = 12


def test_the_simulate_chargers_command_reports_meter_values_once(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    MeterReading.objects.filter(session=session).update(
        timestamp=session.start_date_time - timedelta(minutes=10)
    )
    ChargingSession.objects.filter(pk=session.pk).update(
        start_date_time=session.start_date_time - timedelta(minutes=10)
    )
    out = StringIO()

    call_command("simulate_chargers", "--once", stdout=out)

    assert "1 meter value(s) reported" in out.getvalue()
    session.refresh_from_db()
    assert session.kwh > Decimal("1.8")  # 10 minutes at 11 kW


def test_stop_session_before_the_charger_started_cancels_the_pending_session(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    simulate(site.evse, SimulatedCharger.Behaviour.NO_VEHICLE)
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        command_receive(
            partner=site.partner,
            command=CommandType.STOP_SESSION,
            body={
                "response_url": result_receiver.url("STOP_SESSION", "s1"),
                "session_id": session.session_id,
            },
            version="2.2.1",
        )

    session.refresh_from_db()
    assert session.status == SessionStatus.INVALID
    assert result_receiver.bodies("s1") == [{"result": "ACCEPTED"}]
    assert result_receiver.bodies("c1")[0]["result"] == "FAILED"
    assert not Cdr.objects.exists()


def test_a_command_result_that_cannot_be_delivered_keeps_its_last_error(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.COMMAND_RESULT_MAX_ATTEMPTS = 3
    result_receiver.failures = [500, 500, 500, 500]

    started_session(site, result_receiver, django_capture_on_commit_callbacks)
    run_parked_retries(django_capture_on_commit_callbacks)

    command = ReceivedCommand.objects.get()
    assert command.delivery_attempts == 3
    assert command.delivered_at is None
    assert "HTTP 500" in command.last_delivery_error
    assert OutboxMessage.objects.get(action=OutboxMessage.Action.COMMAND_RESULT).state == "DEAD"
    assert result_receiver.failures == [500]  # three of the four failures were met, then no more tries


def test_a_fac_that_arrives_before_the_cdr_is_linked_when_the_cdr_is_created(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    fac, _ = fac_upsert(
        partner=site.partner,
        fac_id="EARLY",
        authorization_reference=session.authorization_reference,
        total_costs={"excl_vat": "0.40", "incl_vat": "0.48"},
        currency="EUR",
        eft_data=["VISA"],
        capture_status_code="SUCCESS",
    )
    assert (fac.session, fac.cdr) == (session, None)

    session_charger_stopped(
        session=session, timestamp=session.start_date_time + timedelta(minutes=5), meter_stop_kwh=Decimal(1)
    )

    fac.refresh_from_db()
    assert fac.cdr == Cdr.objects.get()


def test_a_start_replayed_with_a_new_response_url_gets_its_result_too(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    started_session(site, result_receiver, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        again = start(site, result_receiver, command_id="c2")

    assert again.response_result == CommandResponseType.ACCEPTED
    assert result_receiver.bodies("c2") == [{"result": "ACCEPTED"}]
    assert ChargingSession.objects.count() == 1


def test_time_connected_but_not_charging_is_a_parking_time_period(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    TariffElementFactory(
        tariff=site.tariff, energy_price=None, parking_price=Decimal("6.00"), parking_vat=None
    )
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    begin = session.start_date_time

    session_meter_values(
        session=session,
        values=[
            MeterValue(begin + timedelta(minutes=30), Decimal(5), Decimal(10)),
            MeterValue(begin + timedelta(minutes=31), Decimal(5), Decimal(0), charging=False),
            MeterValue(begin + timedelta(minutes=61), Decimal(5), Decimal(0), charging=False),
        ],
    )
    session_charger_stopped(session=session, timestamp=begin + timedelta(minutes=61))

    cdr = Cdr.objects.get()
    dimensions = [{d["type"] for d in period["dimensions"]} for period in cdr.charging_periods]
    assert "TIME" in dimensions[0]
    assert "PARKING_TIME" in dimensions[-1]
    assert cdr.total_parking_time == Decimal("0.500000")
    assert cdr.total_parking_cost_excl_vat == Decimal("3.00")


def test_a_charger_that_never_answers_an_unlock_gives_the_result_timeout(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    simulate(site.evse, SimulatedCharger.Behaviour.TIMEOUT)

    with django_capture_on_commit_callbacks(execute=True):
        command_receive(
            partner=site.partner,
            command=CommandType.UNLOCK_CONNECTOR,
            body={
                "response_url": result_receiver.url("UNLOCK_CONNECTOR", "u9"),
                "location_id": site.location_id,
                "evse_uid": site.evse.uid,
                "connector_id": site.connector.connector_id,
            },
            version="2.2.1",
        )

    assert result_receiver.bodies("u9")[0]["result"] == "TIMEOUT"


def test_a_charger_that_never_answers_a_start_leaves_it_pending_until_it_expires(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    simulate(site.evse, SimulatedCharger.Behaviour.TIMEOUT)

    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)

    assert session.status == SessionStatus.PENDING
    assert result_receiver.bodies("c1") == []


def test_a_stop_the_charger_missed_is_sent_again(
    site: Site, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    charger = simulate(site.evse, SimulatedCharger.Behaviour.ACCEPT)
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    charger.behaviour = SimulatedCharger.Behaviour.TIMEOUT  # the charger goes deaf
    charger.save()
    with django_capture_on_commit_callbacks(execute=True):
        command_receive(
            partner=site.partner,
            command=CommandType.STOP_SESSION,
            body={
                "response_url": result_receiver.url("STOP_SESSION", "s1"),
                "session_id": session.session_id,
            },
            version="2.2.1",
        )
    session.refresh_from_db()
    assert session.status == SessionStatus.ACTIVE
    assert result_receiver.bodies("s1")[0]["result"] == "TIMEOUT"

    charger.behaviour = SimulatedCharger.Behaviour.ACCEPT  # and comes back
    charger.save()
    assert charger_stops_resend(now=timezone.now() + timedelta(seconds=30)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert charger_stops_resend(now=timezone.now() + timedelta(seconds=61)) == 1

    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    assert Cdr.objects.filter(session=session).exists()
