"""CDRs of completed sessions (mod_cdrs): priced by the tariff engine from the session's readings.

A CDR is immutable; corrections are credit CDRs (``sessions.credits``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from partners.models import Party
from sessions import events
from sessions.exceptions import SessionStateError
from sessions.models import Cdr, ChargingSession, MeterReading, SessionStatus
from tariffs import engine
from tariffs.canonical import tariff_snapshot_for_cdr
from tariffs.engine_adapter import amount_columns, charging_periods_json, price_readings
from tariffs.models import Tariff


def cdr_location_snapshot(session: ChargingSession) -> dict[str, Any]:
    """mod_cdrs, CdrLocation: the location, EVSE and connector as they were when charged."""
    location, evse, connector = session.location, session.evse, session.connector
    snapshot: dict[str, Any] = {
        "id": location.location_id,
        "address": location.address,
        "city": location.city,
        "country": location.country,
        "coordinates": {"latitude": str(location.latitude), "longitude": str(location.longitude)},
        "evse_uid": evse.uid,
        "evse_id": evse.evse_id or evse.uid,
        "connector_id": connector.connector_id,
        "connector_standard": connector.standard,
        "connector_format": connector.format,
        "connector_power_type": connector.power_type,
    }
    for field in ("name", "postal_code", "state"):
        if getattr(location, field):
            snapshot[field] = getattr(location, field)
    return snapshot


def cdr_invoice_reference(party: Party, cdr_id: str) -> str:
    # mod_cdrs, CDR.invoice_reference_id: set only when the CPO invoices (Party.invoice_creator).
    return f"INV-{cdr_id}"[:39] if party.invoice_creator == Party.InvoiceCreator.CPO else ""


def cdr_create_from_session(
    *,
    session: ChargingSession,
    price: engine.SessionPrice | None = None,
    readings: list[MeterReading] | None = None,
) -> Cdr:
    """Create the CDR of a COMPLETED session: priced by the engine from the same readings.

    ``price`` and ``readings``: the session's price at its end and the readings it was computed
    from, when the caller has just priced them (the stop), so that a session is priced once.
    Idempotent: a session has one original CDR (its cdr_id is the session id).
    """
    existing = Cdr.objects.filter(party=session.party, cdr_id=session.session_id).first()
    if existing is not None:
        return existing
    if session.status != SessionStatus.COMPLETED or session.end_date_time is None:
        raise SessionStateError(f"Session {session.session_id} is {session.status}; it has no CDR yet.")
    if session.tariff is None:
        raise SessionStateError(f"Session {session.session_id} has no tariff to price it.")
    tariff = (
        Tariff.objects.select_related("party")
        .prefetch_related("elements", "alt_texts")
        .get(pk=session.tariff_id)
    )
    if price is None or readings is None:
        readings = list(session.meter_readings.order_by("timestamp"))
        price = price_readings(
            tariff, readings, time_zone=session.location.time_zone, end=session.end_date_time
        )
    columns: dict[str, Any] = amount_columns(price.total_cost, "total_cost")
    for subtotal in ("fixed", "energy", "time", "parking", "reservation"):
        amount: engine.Amount = getattr(price, f"total_{subtotal}_cost")
        columns |= amount_columns(amount, f"total_{subtotal}_cost")
    cdr = Cdr.objects.create(
        party=session.party,
        partner=session.partner,
        cdr_id=session.session_id,
        session=session,
        token=session.token,
        token_country_code=session.token_country_code,
        token_party_id=session.token_party_id,
        token_uid=session.token_uid,
        token_type=session.token_type,
        token_contract_id=session.token_contract_id,
        auth_method=session.auth_method,
        authorization_reference=session.authorization_reference,
        meter_id=session.meter_id,
        currency=session.currency,
        start_date_time=session.start_date_time,
        end_date_time=session.end_date_time,
        cdr_location=cdr_location_snapshot(session),
        tariffs=[tariff_snapshot_for_cdr(tariff)],
        charging_periods=charging_periods_json(price, readings),
        total_energy=price.total_energy,
        total_time=price.total_time.quantize(Decimal("0.000001")),
        total_parking_time=price.total_parking_time.quantize(Decimal("0.000001")),
        invoice_reference_id=cdr_invoice_reference(session.party, session.session_id),
        **columns,
    )
    # Payments link a capture that arrived before its CDR (payments.receivers).
    events.session_cdr_created.send(sender=Cdr, cdr=cdr)
    return cdr
