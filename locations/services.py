"""Writes to locations that staff trigger in bulk (admin actions)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from locations.models import Location


@transaction.atomic
def locations_set_published(*, locations: Iterable[Location], publish: bool) -> int:
    """Publish or withdraw locations; returns how many changed. Each change bumps last_updated.

    A location that lists ``publish_allowed_to`` cannot be published (mod_locations, Location
    object): the model's own validation refuses it and nothing is changed.
    """
    changed = 0
    for location in locations:
        if location.publish == publish:
            continue
        location.publish = publish
        location.full_clean()
        location.save(update_fields=["publish"])
        changed += 1
    return changed
