"""Is a location, EVSE or connector ready for card payments at the terminal? A checklist per object.

The checks this layer can answer itself (published; an ad hoc payment tariff on every connector
with a text in each of the operator's terminal languages and a pre-authorisation amount) are
here. Two live above it: whether a terminal is assigned (payments) and whether each partner holds
our latest state (pushes, from its partner copies). Those apps register a ``ReadinessProvider``
in their ``AppConfig.ready()``; this module never imports them (see the direction of
dependencies in the README). With nothing registered, those checks are simply not made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from locations.models import Connector, Evse, EvseStatus, Location
from tariffs.models import Tariff, TariffType


@dataclass(frozen=True)
class Check:
    """One line of the checklist: what is checked, whether it holds, and what is missing if not."""

    label: str
    ok: bool
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class Readiness:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def missing(self) -> list[str]:
        """What is missing, one line each (empty when ready)."""
        return [line for check in self.checks if not check.ok for line in (check.missing or (check.label,))]


class ReadinessProvider(Protocol):
    def checks(self, obj: Any) -> list[Check]:
        """The provider's checks for a location, EVSE, connector (or another object it knows)."""


_providers: dict[str, ReadinessProvider] = {}


def register(name: str, provider: ReadinessProvider) -> None:
    """Add (or replace) the checks of a layer above this one; called from an AppConfig.ready()."""
    _providers[name] = provider


def provided_checks(obj: Any) -> list[Check]:
    """The registered providers' checks of ``obj``, in the order they registered."""
    return [check for provider in _providers.values() for check in provider.checks(obj)]


PUBLISHED = "Published"
AD_HOC_TARIFF = "An ad hoc payment tariff on every connector"
TEXTS = "Tariff texts in each terminal language"
PREAUTHORISATION = "A pre-authorisation amount"


def ad_hoc_tariff(connector: Connector) -> Tariff | None:
    """The card-payment tariff the terminal shows for this connector now (tariffs prefetched or not)."""
    now = timezone.now()
    for tariff in connector.tariffs.all():
        if tariff.type == TariffType.AD_HOC_PAYMENT and tariff.is_valid_at(now):
            return tariff
    return None


def _connector_lines(connector: Connector, languages: list[str], name: str) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {AD_HOC_TARIFF: [], TEXTS: [], PREAUTHORISATION: []}
    tariff = ad_hoc_tariff(connector)
    if tariff is None:
        lines[AD_HOC_TARIFF].append(f"{name}: no ad hoc payment tariff valid now")
        return lines
    written = {text.language for text in tariff.alt_texts.all()}
    absent = [language for language in languages if language not in written]
    if absent:
        lines[TEXTS].append(f"{name}: tariff {tariff.tariff_id} has no text in {', '.join(absent)}")
    if tariff.preauthorization is None:
        lines[PREAUTHORISATION].append(
            f"{name}: tariff {tariff.tariff_id} has no pre-authorise or maximum price"
        )
    return lines


def _checks(
    location: Location, evses: Iterable[Evse], *, published: bool, published_missing: str, obj: Any
) -> Readiness:
    languages = list(location.party.terminal_languages)
    lines: dict[str, list[str]] = {AD_HOC_TARIFF: [], TEXTS: [], PREAUTHORISATION: []}
    evses = list(evses)
    if not evses:
        lines[AD_HOC_TARIFF].append("No EVSEs yet")
    for evse in evses:
        connectors = list(evse.connectors.all())
        if not connectors:
            lines[AD_HOC_TARIFF].append(f"EVSE {evse}: no connectors yet")
        for connector in connectors:
            for label, found in _connector_lines(connector, languages, f"Connector {connector}").items():
                lines[label].extend(found)
    own = [Check(PUBLISHED, published, () if published else (published_missing,))]
    own += [Check(label, not found, tuple(found)) for label, found in lines.items()]
    return Readiness((*own, *provided_checks(obj)))


def _connectors_prefetch() -> Prefetch[Any]:
    return Prefetch(
        "connectors",
        queryset=Connector.objects.prefetch_related(
            Prefetch("tariffs", queryset=Tariff.objects.prefetch_related("alt_texts"))
        ),
    )


def location_readiness(location: Location) -> Readiness:
    """The checklist of a location: every EVSE and connector of it, and what the layers above add."""
    evses = location.evses.exclude(status=EvseStatus.REMOVED).prefetch_related(_connectors_prefetch())
    return _checks(
        location,
        evses,
        published=location.publish,
        published_missing="The location is not published",
        obj=location,
    )


def evse_readiness(evse: Evse) -> Readiness:
    """The checklist of an EVSE and its connectors."""
    published = evse.location.publish and evse.status != EvseStatus.REMOVED
    missing = "The EVSE is removed" if evse.status == EvseStatus.REMOVED else "Its location is not published"
    return _checks(evse.location, [evse], published=published, published_missing=missing, obj=evse)


def connector_readiness(connector: Connector) -> Readiness:
    """The checklist of one connector."""
    location = connector.evse.location
    languages = list(location.party.terminal_languages)
    lines = _connector_lines(connector, languages, f"Connector {connector}")
    published = location.publish and connector.evse.status != EvseStatus.REMOVED
    own = [Check(PUBLISHED, published, () if published else ("Its location is not published",))]
    own += [Check(label, not found, tuple(found)) for label, found in lines.items()]
    return Readiness((*own, *provided_checks(connector)))


def ready_pks(queryset: QuerySet[Any]) -> set[int]:
    """The ids of the ready objects of a location, EVSE or connector queryset (the admin's filter).

    Each object's checklist is worked out in turn: fine for a back office's few thousand objects.
    """
    model = queryset.model
    queryset = queryset.prefetch_related(None)  # the admin's own prefetches differ from ours
    if model is Location:
        objects: Iterable[Any] = queryset.select_related("party")
        judge: Any = location_readiness
    elif model is Evse:
        objects = queryset.select_related("location__party").prefetch_related(_connectors_prefetch())
        judge = evse_readiness
    else:
        objects = queryset.select_related("evse__location__party").prefetch_related(
            Prefetch("tariffs", queryset=Tariff.objects.prefetch_related("alt_texts"))
        )
        judge = connector_readiness
    return {obj.pk for obj in objects if judge(obj).ready}
