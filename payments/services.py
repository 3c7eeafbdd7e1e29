"""Writes for the Payments module (2.3.0 mod_payments; the 2.2.1 direct-payment add-on).

Terminals and financial advice confirmations are the PTP's objects; we keep them per partner.
A FAC is linked to our session and CDR by ``authorization_reference`` (mod_payments,
FinancialAdviceConfirmation object: "the same authorization reference as provided in the
Commands.StartSession"); one for an unknown reference is kept unlinked, for finance to look at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from cpo_portal.db import insert_or_lock_winner
from locations.models import Evse, Location
from partners import outbox
from partners.models import Partner
from partners.selectors import visible_to_partner_q
from payments.models import FinancialAdviceConfirmation, PaymentTerminal
from sessions.models import Cdr, ChargingSession

TERMINAL_FIELDS = (
    "customer_reference",
    "party_id",
    "country_code",
    "address",
    "city",
    "postal_code",
    "state",
    "country",
    "invoice_base_url",
    "invoice_creator",
    "reference",
)


class PaymentDataError(ValueError):
    """Input that names things we do not know (such as an unknown location id)."""


@dataclass(frozen=True)
class TerminalAssignment:
    locations: list[Location]
    evses: list[Evse]


def terminal_assignment(
    *, partner: Partner, location_ids: list[str] | None, evse_uids: list[str] | None
) -> TerminalAssignment | None:
    """Resolve the location ids and EVSE uids of a Terminal; PaymentDataError names unknown ones."""
    if location_ids is None and evse_uids is None:
        return None
    locations = list(
        Location.objects.filter(visible_to_partner_q(partner=partner), location_id__in=location_ids or [])
    )
    missing = sorted(set(location_ids or []) - {location.location_id for location in locations})
    if missing:
        raise PaymentDataError(f"location_ids: unknown location(s) {', '.join(missing)}.")
    evses = list(
        Evse.objects.filter(
            visible_to_partner_q(partner=partner, party_field="location__party"), uid__in=evse_uids or []
        ).select_related("location")
    )
    missing = sorted(set(evse_uids or []) - {evse.uid for evse in evses})
    if missing:
        raise PaymentDataError(f"evse_uids: unknown EVSE(s) {', '.join(missing)}.")
    return TerminalAssignment(locations=locations, evses=evses)


def terminal_upsert(
    *, partner: Partner, terminal_id: str, data: Mapping[str, Any], replace: bool
) -> tuple[PaymentTerminal, bool]:
    """Create or update a partner's terminal from validated Terminal fields.

    ``replace`` (POST, PUT) resets fields the body leaves out; otherwise (PATCH) only the given
    fields change. A missing ``last_updated`` is set by us (the spec's minimal create example has
    none, shared/ocpi/README.md). Returns (terminal, created).
    """
    # The PTP owns terminals: what it tells us is its own data, not pushed back to it.
    with outbox.received_from(partner):
        return _terminal_upsert(partner=partner, terminal_id=terminal_id, data=data, replace=replace)


@transaction.atomic
def _terminal_upsert(
    *, partner: Partner, terminal_id: str, data: Mapping[str, Any], replace: bool
) -> tuple[PaymentTerminal, bool]:
    assignment = terminal_assignment(
        partner=partner, location_ids=data.get("location_ids"), evse_uids=data.get("evse_uids")
    )
    same_terminal = PaymentTerminal.objects.filter(partner=partner, terminal_id=terminal_id)

    def apply(terminal: PaymentTerminal) -> None:
        for field in TERMINAL_FIELDS:
            if field in data:
                setattr(terminal, field, data[field] if data[field] is not None else "")
            elif replace:
                setattr(terminal, field, "")
        if "coordinates" in data:
            coordinates = data["coordinates"]
            terminal.latitude = coordinates["latitude"] if coordinates else None
            terminal.longitude = coordinates["longitude"] if coordinates else None
        elif replace:
            terminal.latitude = terminal.longitude = None
        terminal.full_clean(exclude=["partner", "locations", "evses"], validate_unique=False)

    terminal = same_terminal.select_for_update().first()
    created = terminal is None
    if terminal is None:
        new_terminal = terminal = PaymentTerminal(partner=partner, terminal_id=terminal_id)
        apply(terminal)
        winner = insert_or_lock_winner(insert=lambda: new_terminal.save(touch=False), existing=same_terminal)
        if winner is not None:
            # A concurrent first write of the same terminal won: this one updates its row.
            terminal, created = winner, False
    if not created:
        apply(terminal)
        terminal.save(touch=False)
    # last_updated is the PTP's timestamp when it sends one (it owns the object), else now.
    last_updated = data.get("last_updated") or timezone.now()
    PaymentTerminal.objects.filter(pk=terminal.pk).update(last_updated=last_updated)
    terminal.last_updated = last_updated
    if assignment is not None:
        if "location_ids" in data or replace:
            terminal.locations.set(assignment.locations)
        if "evse_uids" in data or replace:
            terminal.evses.set(assignment.evses)
    elif replace and not created:
        terminal.locations.clear()
        terminal.evses.clear()
    return terminal, created


@dataclass(frozen=True)
class CapturedAmount:
    """FinancialAdviceConfirmation.total_costs in either price shape, normalised."""

    excl_vat: Decimal | None
    incl_vat: Decimal | None
    taxes: list[dict[str, Any]]


def captured_amount(price: Mapping[str, Any]) -> CapturedAmount:
    """Read a 2.2.1 Price {excl_vat, incl_vat} or a 2.3.0 Price {before_taxes, taxes[]}.

    The spec's own 2.3.0 FAC examples use the 2.2.1 shape (shared/ocpi/README.md), so both are
    accepted whatever version the request came in.
    """
    if "before_taxes" in price:
        before = Decimal(str(price["before_taxes"]))
        taxes = [
            {
                key: str(value) if isinstance(value, Decimal | int | float) else value
                for key, value in line.items()
            }
            for line in price.get("taxes") or []
        ]
        total_tax = sum((Decimal(str(line["amount"])) for line in price.get("taxes") or []), Decimal(0))
        return CapturedAmount(excl_vat=before, incl_vat=before + total_tax, taxes=taxes)
    excl = Decimal(str(price["excl_vat"]))
    incl = Decimal(str(price["incl_vat"])) if price.get("incl_vat") is not None else None
    return CapturedAmount(excl_vat=excl, incl_vat=incl, taxes=[])


def _links_for(partner: Partner, authorization_reference: str) -> tuple[ChargingSession | None, Cdr | None]:
    session = (
        ChargingSession.objects.filter(partner=partner, authorization_reference=authorization_reference)
        .order_by("-start_date_time")
        .first()
    )
    # The original CDR, not a credit CDR; the newest if a correction replaced it.
    cdr = (
        Cdr.objects.filter(partner=partner, authorization_reference=authorization_reference)
        .exclude(credit=True)
        .order_by("-end_date_time", "-id")
        .first()
    )
    return session, cdr


@transaction.atomic
def fac_upsert(
    *,
    partner: Partner,
    fac_id: str,
    authorization_reference: str,
    total_costs: Mapping[str, Any],
    currency: str,
    eft_data: list[str],
    capture_status_code: str,
    capture_status_message: str = "",
    last_updated: datetime | None = None,
) -> tuple[FinancialAdviceConfirmation, bool]:
    """Store a FAC (POSTed again: updated, never duplicated) and link it by authorization_reference."""
    amount = captured_amount(total_costs)
    session, cdr = _links_for(partner, authorization_reference)
    values = {
        "authorization_reference": authorization_reference,
        "total_costs_excl_vat": amount.excl_vat,
        "total_costs_incl_vat": amount.incl_vat,
        "total_costs_taxes": amount.taxes,
        "currency": currency,
        "eft_data": list(eft_data),
        "capture_status_code": capture_status_code,
        "capture_status_message": capture_status_message,
        "session": session,
        "cdr": cdr,
    }
    same_fac = FinancialAdviceConfirmation.objects.filter(partner=partner, fac_id=fac_id)
    fac = same_fac.select_for_update().first()
    created = fac is None
    if fac is None:
        new_fac = fac = FinancialAdviceConfirmation(partner=partner, fac_id=fac_id, **values)
        fac.full_clean(exclude=["partner", "session", "cdr"], validate_unique=False)
        winner = insert_or_lock_winner(insert=lambda: new_fac.save(touch=False), existing=same_fac)
        if winner is not None:
            # A concurrent first POST of the same FAC won: this one is an update of it.
            fac, created = winner, False
    if not created:
        for name, value in values.items():
            setattr(fac, name, value)
        fac.full_clean(exclude=["partner", "session", "cdr"], validate_unique=False)
        fac.save(touch=False)
    stamp = last_updated or timezone.now()
    FinancialAdviceConfirmation.objects.filter(pk=fac.pk).update(last_updated=stamp)
    fac.last_updated = stamp
    return fac, created


def fac_upsert_from_ocpi(
    *, partner: Partner, data: Mapping[str, Any]
) -> tuple[FinancialAdviceConfirmation, bool]:
    """fac_upsert from a validated OCPI FinancialAdviceConfirmation (POSTed to us, or pulled)."""
    return fac_upsert(
        partner=partner,
        fac_id=data["id"],
        authorization_reference=data["authorization_reference"],
        total_costs=data["total_costs"],
        currency=data["currency"],
        eft_data=data["eft_data"],
        capture_status_code=data["capture_status_code"],
        capture_status_message=data.get("capture_status_message", ""),
        last_updated=data.get("last_updated"),
    )
