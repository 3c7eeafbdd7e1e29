"""The one table of what we serve: OCPI versions, their modules and roles, and what differs.

Adding a module is one entry in ``ENDPOINTS`` plus one file ``ocpi_api/modules/<module>.py`` that
defines ``urlpatterns`` relative to ``/ocpi/<version>/`` (such as ``path("commands/<str:command>",
...)``), one of them named as the entry's ``url_name`` (default: the identifier): the endpoint URL
that version details announces. The version details
endpoint lists every entry whose file exists, so an entry may be added before its file.

Version differences live in ``VersionProfile`` below and nowhere else: serializers ask the
profile for the price shape and for the fields a version lacks, instead of testing the version.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

V2_2_1 = "2.2.1"
V2_3_0 = "2.3.0"
SUPPORTED_VERSIONS: tuple[str, ...] = (V2_2_1, V2_3_0)


@dataclass(frozen=True)
class ModuleEndpoint:
    """One module endpoint as listed in version details (version_information_endpoint, Endpoint)."""

    identifier: str  # OCPI ModuleID, such as "locations"
    role: str  # InterfaceRole: SENDER or RECEIVER
    urls: str  # dotted path of the module defining ``urlpatterns``
    # The versions whose details list this endpoint (its routes answer under every version).
    versions: tuple[str, ...] = SUPPORTED_VERSIONS
    url_name: str = ""  # the URL name of the module's base route; default: "<identifier>"
    # Versions in which only partners playing one of these roles are shown the endpoint.
    roles_only: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def base_url_name(self) -> str:
        return self.url_name or self.identifier

    @property
    def installed(self) -> bool:
        return importlib.util.find_spec(self.urls) is not None

    def offered_to(self, version: str, roles: frozenset[str]) -> bool:
        """Whether a partner playing ``roles`` is shown this endpoint in ``version``.

        A partner whose roles are not known yet (token A before its first handshake) is shown it:
        it learns our endpoints before it tells us its roles (credentials, "Registration").
        """
        wanted = self.roles_only.get(version)
        return wanted is None or not roles or bool(wanted & roles)


# We are a CPO: Sender of our own data, Receiver of what the eMSP/PTP owns. ``payments`` is listed
# in 2.3.0 although its ModuleID enum lacks it (shared/payter/README.md), and in 2.2.1 (the 2024
# direct-payment add-on) only to a PTP: the 2.2.1 ModuleID is a closed enum, so a custom module
# is for parties that agreed on it (version_information_endpoint, ModuleID).
ENDPOINTS: tuple[ModuleEndpoint, ...] = (
    ModuleEndpoint("credentials", "SENDER", "ocpi_api.modules.credentials"),
    ModuleEndpoint("locations", "SENDER", "ocpi_api.modules.locations"),
    ModuleEndpoint("tariffs", "SENDER", "ocpi_api.modules.tariffs"),
    ModuleEndpoint("sessions", "SENDER", "ocpi_api.modules.sessions"),
    ModuleEndpoint("cdrs", "SENDER", "ocpi_api.modules.cdrs"),
    ModuleEndpoint("commands", "RECEIVER", "ocpi_api.modules.commands"),
    ModuleEndpoint("tokens", "RECEIVER", "ocpi_api.modules.tokens"),
    ModuleEndpoint(
        "payments",
        "RECEIVER",
        "ocpi_api.modules.payments",
        roles_only={V2_2_1: frozenset({"PTP"})},
    ),
)


def installed_endpoints(version: str) -> list[ModuleEndpoint]:
    """The endpoints served in ``version`` (entries whose module file exists)."""
    return [entry for entry in ENDPOINTS if version in entry.versions and entry.installed]


# --- Version differences -------------------------------------------------------------------------

FOUR_PLACES = Decimal("0.0001")


def _decimal(value: Any) -> Decimal | None:
    """A number read from our columns or from a JSON snapshot (string, int or float) as a Decimal."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


@dataclass(frozen=True)
class VersionProfile:
    """Everything in which 2.2.1 and 2.3.0 output differ, for one version."""

    version: str
    # Price (types.asciidoc): 2.2.1 {excl_vat, incl_vat?}; 2.3.0 {before_taxes, taxes[]}.
    taxes_as_lines: bool
    # Tariff PriceComponent.price: 2.2.1 always excludes VAT; 2.3.0 follows Tariff.tax_included.
    component_price_follows_tax_included: bool
    # Fields of an object that this version does not have (left out of its output).
    absent_fields: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def price(self, excl: Any, incl: Any = None, taxes: list[dict[str, Any]] | None = None) -> dict | None:
        """A Price for a session or CDR amount; None when there is no amount."""
        before = _decimal(excl)
        if before is None:
            return None
        after = _decimal(incl)
        if not self.taxes_as_lines:
            price: dict[str, Any] = {"excl_vat": before}
            if after is not None:
                price["incl_vat"] = after
            return price
        lines = [self._tax_line(line) for line in taxes or []]
        if not lines and after is not None and after != before:
            # Stored from a 2.2.1-shaped amount: the difference is one unnamed VAT line.
            lines = [{"name": "VAT", "amount": after - before}]
        return {"before_taxes": before, "taxes": lines}

    @staticmethod
    def _tax_line(line: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"name": str(line.get("name") or "VAT")}
        if line.get("account_number"):
            out["account_number"] = str(line["account_number"])
        if line.get("percentage") is not None:
            out["percentage"] = _decimal(line["percentage"])
        out["amount"] = _decimal(line.get("amount")) or Decimal(0)
        return out

    def price_limit(self, excl: Any, incl: Any) -> dict | None:
        """Tariff min_price/max_price: 2.2.1 Price {excl_vat, incl_vat?}; 2.3.0 PriceLimit."""
        before, after = _decimal(excl), _decimal(incl)
        if before is None:
            return None
        if not self.taxes_as_lines:
            return {"excl_vat": before} | ({"incl_vat": after} if after is not None else {})
        return {"before_taxes": before} | ({"after_taxes": after} if after is not None else {})

    def component_price(self, price: Any, vat: Any, tax_included: str) -> Decimal:
        """PriceComponent.price in this version from a price stored per ``tax_included``.

        2.2.1 (mod_tariffs, PriceComponent): "Price per unit (excl. VAT)". A price stored including
        VAT is divided by (1 + vat/100), kept to 4 decimals; without a VAT rate nothing is added.
        """
        amount = _decimal(price) or Decimal(0)
        vat_rate = _decimal(vat)
        if self.component_price_follows_tax_included or tax_included != "YES" or not vat_rate:
            return amount
        return (amount / (1 + vat_rate / 100)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)

    def adapt_tariff(self, tariff: dict[str, Any]) -> dict[str, Any]:
        """A tariff in our canonical (2.3.0-shaped) dict form as this version writes it.

        Used for live tariffs and for the tariff snapshots that CDRs keep.
        """
        out = {key: value for key, value in tariff.items() if key not in self.absent_fields.get("tariff", ())}
        tax_included = str(tariff.get("tax_included") or "NO")
        for key in ("min_price", "max_price"):
            limit = tariff.get(key)
            if isinstance(limit, Mapping):
                excl = limit.get("before_taxes", limit.get("excl_vat"))
                incl = limit.get("after_taxes", limit.get("incl_vat"))
                adapted = self.price_limit(excl, incl)
                if adapted is None:
                    out.pop(key, None)
                else:
                    out[key] = adapted
        elements = []
        for element in tariff.get("elements") or []:
            components = []
            for component in element.get("price_components") or []:
                adapted_component = dict(component)
                adapted_component["price"] = self.component_price(
                    component.get("price"), component.get("vat"), tax_included
                )
                if component.get("vat") is not None:
                    adapted_component["vat"] = _decimal(component["vat"])
                components.append(adapted_component)
            elements.append({**element, "price_components": components})
        out["elements"] = elements
        if self.component_price_follows_tax_included:
            out["tax_included"] = tax_included
        return out

    def strip(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        """Remove the fields of ``kind`` (location, evse, connector, ...) that this version lacks."""
        absent = self.absent_fields.get(kind)
        if not absent:
            return data
        for key in absent:
            data.pop(key, None)
        return data


PROFILES: dict[str, VersionProfile] = {
    V2_2_1: VersionProfile(
        version=V2_2_1,
        taxes_as_lines=False,
        component_price_follows_tax_included=False,
        absent_fields={
            # mod_locations 2.2.1 has no parking places, help phone, EVSE parking, accepted
            # service providers or connector capabilities.
            "location": frozenset({"parking_places", "help_phone"}),
            "evse": frozenset({"parking", "accepted_service_providers"}),
            "connector": frozenset({"capabilities"}),
            # mod_tariffs 2.2.1 has neither tax_included nor preauthorize_amount.
            "tariff": frozenset({"tax_included", "preauthorize_amount"}),
        },
    ),
    V2_3_0: VersionProfile(
        version=V2_3_0,
        taxes_as_lines=True,
        component_price_follows_tax_included=True,
    ),
}


def profile_for(version: str) -> VersionProfile:
    """The profile of a supported version; KeyError for any other."""
    return PROFILES[version]
