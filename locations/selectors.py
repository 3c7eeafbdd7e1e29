"""Reads for locations that the admin shows: warnings that do not stop a save, and what the terminal
will show for an EVSE."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from locations.currencies import currency_of_country
from locations.models import PHASES, Connector, Evse, PowerType, connector_power_limit
from locations.readiness import ad_hoc_tariff
from tariffs import engine
from tariffs.engine_adapter import engine_tariff
from tariffs.models import Tariff


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


@dataclass(frozen=True)
class ConnectorScreen:
    """One connector as the terminal offers it in one language."""

    label: str
    standard: str
    power: str
    tariff_id: str
    text: str
    price_lines: tuple[str, ...]
    reserved: str


@dataclass(frozen=True)
class TerminalScreen:
    """What the terminal shows for an EVSE in one language."""

    language: str
    location_name: str
    address: str
    evse_label: str
    connectors: tuple[ConnectorScreen, ...]


def _power(connector: Connector) -> str:
    kind = "DC" if connector.power_type == PowerType.DC else f"AC, {PHASES[connector.power_type]} phase(s)"
    if connector.max_electric_power:
        return f"{connector.max_electric_power / 1000:g} kW {kind}"
    limit = connector_power_limit(
        power_type=connector.power_type,
        max_voltage=connector.max_voltage,
        max_amperage=connector.max_amperage,
    )
    return f"{limit / 1000:g} kW {kind}"


def evse_terminal_screens(*, evse: Evse) -> list[TerminalScreen]:
    """What the terminal will show for ``evse`` in each of the operator's terminal languages.

    The tariff is the connector's ad hoc payment tariff valid now; its text in the language, and
    the price lines the tariff engine writes in that language (as the driver pays, taxes added).
    """
    location = evse.location
    languages = list(location.party.terminal_languages) or ["en"]
    connectors = list(
        evse.connectors.prefetch_related(
            Prefetch("tariffs", queryset=Tariff.objects.prefetch_related("alt_texts", "elements"))
        )
    )
    screens = []
    for language in languages:
        shown = []
        for connector in connectors:
            standard = connector.get_standard_display()
            tariff = ad_hoc_tariff(connector)
            if tariff is None:
                shown.append(
                    ConnectorScreen(connector.connector_id, standard, _power(connector), "", "", (), "")
                )
                continue
            texts = {text.language: text.text for text in tariff.alt_texts.all()}
            try:
                lines = tuple(
                    engine.price_lines(
                        engine_tariff(tariff, tariff.elements.all()), language, with_taxes=True
                    )
                )
            except engine.TariffError as error:
                lines = (f"Cannot be priced: {error}",)
            amount = tariff.preauthorization
            shown.append(
                ConnectorScreen(
                    label=connector.connector_id,
                    standard=standard,
                    power=_power(connector),
                    tariff_id=tariff.tariff_id,
                    text=texts.get(language, ""),
                    price_lines=lines,
                    reserved="" if amount is None else engine.format_money(amount, tariff.currency, language),
                )
            )
        screens.append(
            TerminalScreen(
                language=language,
                location_name=location.name or location.location_id,
                address=", ".join(
                    part
                    for part in (location.address, f"{location.postal_code} {location.city}".strip())
                    if part
                ),
                evse_label=evse.physical_reference or evse.evse_id or evse.uid,
                connectors=tuple(shown),
            )
        )
    return screens
