"""The live cost of a session against its CDR: as of the last reading, and extrapolated to now."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from finance.selectors import ReconciliationStatus, cdrs_with_reconciliation
from ocpi_api.modules.cdrs import serialize_cdr
from payments.services import fac_upsert
from sessions.lifecycle import MeterValue, session_charger_stopped, session_meter_values
from sessions.models import Cdr, ChargingSession, MeterReading, SessionStatus
from tests.flow.conftest import ResultReceiver, make_site
from tests.flow.test_lifecycle import started_session

pytestmark = pytest.mark.django_db


def backdated(session: ChargingSession, hours: int) -> ChargingSession:
    """A session that started `hours` ago, so that its readings lie in the past."""
    begin = timezone.now() - timedelta(hours=hours)
    ChargingSession.objects.filter(pk=session.pk).update(start_date_time=begin)
    MeterReading.objects.filter(session=session).update(timestamp=begin)
    session.refresh_from_db()
    return session


def test_the_stop_before_the_preauthorised_amount_looks_at_the_cost_extrapolated_to_now(
    db: None, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    site = make_site(preauthorize_amount=Decimal("5.00"))  # 0.484 per kWh incl. VAT; stop at 4.50
    session = backdated(started_session(site, result_receiver, django_capture_on_commit_callbacks), 2)
    begin = session.start_date_time
    # Read late: 1 kWh in the first 10 minutes at 11 kW, and nothing since (2 hours ago). As of
    # that reading it costs 0.48; at 11 kW since, about 22 kWh more (10.6) by now.
    with django_capture_on_commit_callbacks() as callbacks:
        session_meter_values(
            session=session,
            values=[
                MeterValue(begin, Decimal(0), power_kw=Decimal(11)),
                MeterValue(begin + timedelta(minutes=10), Decimal(1), power_kw=Decimal(11)),
            ],
        )
    assert len(callbacks) >= 1  # the stop sent to the charger
    session.refresh_from_db()
    assert session.total_cost_incl_vat == Decimal("0.48")
    assert session.stop_requested_at is not None
    assert "pre-authorised" in session.stop_reason


def test_a_late_reading_of_a_parked_car_does_not_stop_the_session(
    db: None, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    site = make_site(preauthorize_amount=Decimal("5.00"))
    session = backdated(started_session(site, result_receiver, django_capture_on_commit_callbacks), 2)
    begin = session.start_date_time
    session_meter_values(
        session=session,
        values=[
            MeterValue(begin, Decimal(0), power_kw=Decimal(11)),
            MeterValue(begin + timedelta(minutes=10), Decimal(1), power_kw=Decimal(0), charging=False),
        ],
    )
    session.refresh_from_db()
    assert session.stop_requested_at is None


def test_a_session_that_stops_at_a_reading_has_a_live_cost_equal_to_its_cdr(
    db: None, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    site = make_site(preauthorize_amount=Decimal("50.00"))
    session = backdated(started_session(site, result_receiver, django_capture_on_commit_callbacks), 3)
    begin = session.start_date_time
    for minutes, kwh in ((0, "0"), (17, "3.117"), (45, "8.2501"), (61, "11.1")):
        session_meter_values(
            session=session,
            values=[MeterValue(begin + timedelta(minutes=minutes), Decimal(kwh), power_kw=Decimal(11))],
        )
    session.refresh_from_db()
    live = (session.total_cost_excl_vat, session.total_cost_incl_vat, session.total_cost_taxes)

    # The stop comes hours after the last reading, at the reading's meter value.
    session_charger_stopped(
        session=session, timestamp=begin + timedelta(minutes=61), meter_stop_kwh=Decimal("11.1")
    )

    session.refresh_from_db()
    assert session.status == SessionStatus.COMPLETED
    cdr = Cdr.objects.get(session=session)
    assert (cdr.total_cost_excl_vat, cdr.total_cost_incl_vat, cdr.total_cost_taxes) == live
    assert cdr.total_cost_excl_vat == Decimal("4.44")  # 11.1 kWh x 0.40


def test_a_tariff_without_vat_gives_every_reader_the_amount_incl_vat(
    db: None, result_receiver: ResultReceiver, django_capture_on_commit_callbacks: Any
) -> None:
    site = make_site(preauthorize_amount=Decimal("50.00"))
    site.tariff.elements.update(energy_vat=None)
    session = started_session(site, result_receiver, django_capture_on_commit_callbacks)
    begin = session.start_date_time
    session_meter_values(session=session, values=[MeterValue(begin + timedelta(minutes=30), Decimal(10))])
    session.refresh_from_db()
    # Live session cost: 10 kWh x 0.40 with no VAT applicable.
    assert (session.total_cost_excl_vat, session.total_cost_incl_vat) == (Decimal("4.00"), Decimal("4.00"))

    session_charger_stopped(session=session, timestamp=begin + timedelta(minutes=30))
    cdr = Cdr.objects.get(session=session)
    assert (cdr.total_cost_excl_vat, cdr.total_cost_incl_vat) == (Decimal("4.00"), Decimal("4.00"))
    assert cdr.total_energy_cost_incl_vat == Decimal("4.00")
    # The CDR as the PTP receives it (2.2.1 Price) and as 2.3.0 states it (no tax lines).
    assert serialize_cdr(cdr, "2.2.1")["total_cost"] == {"excl_vat": 4.0, "incl_vat": 4.0}
    assert serialize_cdr(cdr, "2.3.0")["total_cost"] == {"before_taxes": 4.0, "taxes": []}
    # Finance: the capture of 4.00 matches the amount billed.
    fac_upsert(
        partner=site.partner,
        fac_id="FAC-1",
        authorization_reference=session.authorization_reference,
        total_costs={"excl_vat": "4.00", "incl_vat": "4.00"},
        currency="EUR",
        eft_data=["x"],
        capture_status_code="SUCCESS",
    )
    row = cdrs_with_reconciliation().get(pk=cdr.pk)
    assert row.reconciliation_status == ReconciliationStatus.MATCHED  # type: ignore[attr-defined]
