"""Writes to tariffs that staff trigger from the admin."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from tariffs.models import Tariff

COPY_SUFFIX = "-COPY"


@transaction.atomic
def tariff_duplicate(*, tariff: Tariff) -> Tariff:
    """A copy of ``tariff`` with its elements and texts, under a new id, linked to no connector.

    Staff prepare a price change on the copy and then switch connectors over, so that no partner
    ever sees a tariff half edited.
    """
    base = tariff.tariff_id[: 36 - len(COPY_SUFFIX) - 3]
    taken = set(
        Tariff.objects.filter(party_id=tariff.party_id, tariff_id__startswith=base).values_list(
            "tariff_id", flat=True
        )
    )
    for number in range(1, 100):
        candidate = f"{base}{COPY_SUFFIX}" if number == 1 else f"{base}{COPY_SUFFIX}{number}"
        if candidate not in taken:
            break
    else:
        raise ValidationError(f"Tariff {tariff.tariff_id} has too many copies already.")

    elements = list(tariff.elements.all())
    alt_texts = list(tariff.alt_texts.all())
    copy = Tariff.objects.get(pk=tariff.pk)
    copy.pk = None
    copy._state.adding = True
    copy.tariff_id = candidate
    copy.full_clean()
    copy.save()
    for element in elements:
        element.pk = None
        element._state.adding = True
        element.tariff = copy
        element.save()
    for text in alt_texts:
        text.pk = None
        text._state.adding = True
        text.tariff = copy
        text.save()
    return copy
