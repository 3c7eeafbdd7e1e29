"""Credit and correct: the only way OCPI allows a CDR to change (mod_cdrs, "Credit CDRs")."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction

from sessions.cdrs import cdr_invoice_reference
from sessions.exceptions import SessionStateError
from sessions.models import Cdr

_NEGATED_FIELDS = tuple(
    f"total_{part}_{suffix}"
    for part in ("cost", "fixed_cost", "energy_cost", "time_cost", "parking_cost", "reservation_cost")
    for suffix in ("excl_vat", "incl_vat")
)


_TAX_FIELDS = tuple(
    f"total_{part}_taxes"
    for part in ("cost", "fixed_cost", "energy_cost", "time_cost", "parking_cost", "reservation_cost")
)


def _cdr_fields(cdr: Cdr) -> dict[str, Any]:
    names = [
        field.name
        for field in Cdr._meta.concrete_fields
        if field.name not in ("id", "cdr_id", "last_updated", "credit", "credit_reference_id", "remark")
    ]
    return {name: getattr(cdr, name) for name in names}


@transaction.atomic
def cdr_credit_and_correct(
    *, cdr: Cdr, corrections: Mapping[str, Any] | None = None, remark: str = ""
) -> tuple[Cdr, Cdr | None]:
    """Correct a CDR the only way OCPI allows: a credit CDR that cancels it, then a corrected CDR.

    mod_cdrs, "Credit CDRs": the credit CDR has negative amounts, ``credit`` true and
    ``credit_reference_id`` the id of the CDR it credits. ``corrections`` are field values of the
    new CDR (such as total_cost_incl_vat); None credits without a replacement.
    """
    cdr = Cdr.objects.select_for_update().get(pk=cdr.pk)
    if cdr.credit:
        raise SessionStateError(f"CDR {cdr.cdr_id} is a credit CDR; it cannot be credited.")
    if Cdr.objects.filter(party=cdr.party, credit=True, credit_reference_id=cdr.cdr_id).exists():
        raise SessionStateError(f"CDR {cdr.cdr_id} has already been credited.")
    base = _cdr_fields(cdr)
    credit_values = dict(base)
    for name in _NEGATED_FIELDS:
        if credit_values[name] is not None:
            credit_values[name] = -credit_values[name]
    for name in _TAX_FIELDS:
        credit_values[name] = [
            {**line, "amount": str(-Decimal(str(line["amount"])))} for line in credit_values[name]
        ]
    sequence = Cdr.objects.filter(party=cdr.party, cdr_id__startswith=f"{cdr.cdr_id}-").count() + 1
    credit = Cdr.objects.create(
        **credit_values,
        cdr_id=f"{cdr.cdr_id}-C{sequence}"[:39],
        credit=True,
        credit_reference_id=cdr.cdr_id,
        remark=(remark or f"Credits CDR {cdr.cdr_id}.")[:255],
    )
    corrected = None
    if corrections is not None:
        unknown = set(corrections) - set(base)
        if unknown:
            raise ValueError(f"Not CDR fields: {', '.join(sorted(unknown))}.")
        corrected_id = f"{cdr.cdr_id}-R{sequence}"[:39]
        corrected_values = {**base, **corrections}
        if cdr.invoice_reference_id:
            corrected_values["invoice_reference_id"] = cdr_invoice_reference(cdr.party, corrected_id)
        corrected = Cdr.objects.create(
            **corrected_values,
            cdr_id=corrected_id,
            remark=(remark or f"Corrects CDR {cdr.cdr_id}.")[:255],
        )
    return credit, corrected
