"""Reads for locations that the admin shows beside a form: warnings that do not stop a save."""

from __future__ import annotations

from locations.currencies import currency_of_country
from locations.models import Connector


def connector_tariff_warnings(*, connector: Connector) -> list[str]:
    """Tariffs of the connector priced in another currency than its location's country uses."""
    location = connector.evse.location
    expected = currency_of_country(location.country)
    if expected is None:
        return []
    return [
        f"Connector {connector}: tariff {tariff.tariff_id} is in {tariff.currency}, but drivers in "
        f"{location.country} pay in {expected}. Check that this is meant."
        for tariff in connector.tariffs.all()
        if tariff.currency != expected
    ]
