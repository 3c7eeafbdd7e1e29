"""Tariffs module, Sender interface (mod_tariffs): GET list.

``tariff_canonical`` writes a Tariff in our one internal shape (2.3.0 field names, prices as
stored, per ``tax_included``); ``serialize_tariff`` adapts it to a version through
``VersionProfile.adapt_tariff``, which also serves the tariff snapshots kept on CDRs:
- 2.2.1: min/max_price as {excl_vat, incl_vat}; component prices excluding VAT (converted from
  prices stored including VAT); no tax_included or preauthorize_amount.
- 2.3.0: min/max_price as PriceLimit {before_taxes, after_taxes}; tax_included;
  preauthorize_amount.
"""

from __future__ import annotations

from typing import Any

from django.urls import path

from ocpi_api.selectors import tariffs_for_partner
from ocpi_api.transport.views import OcpiListView
from ocpi_api.versions import VersionProfile, profile_for
from tariffs.models import Tariff, TariffElement


def _restrictions(element: TariffElement) -> dict[str, Any]:
    restrictions: dict[str, Any] = {}
    for name in ("start_time", "end_time"):
        if getattr(element, name):
            restrictions[name] = getattr(element, name)
    for name in ("start_date", "end_date"):
        if getattr(element, name) is not None:
            restrictions[name] = getattr(element, name).isoformat()
    for name in (
        "min_kwh",
        "max_kwh",
        "min_current",
        "max_current",
        "min_power",
        "max_power",
        "min_duration",
        "max_duration",
    ):
        if getattr(element, name) is not None:
            restrictions[name] = getattr(element, name)
    if element.day_of_week:
        restrictions["day_of_week"] = list(element.day_of_week)
    if element.reservation:
        restrictions["reservation"] = element.reservation
    return restrictions


def tariff_canonical(tariff: Tariff) -> dict[str, Any]:
    """The tariff in our internal 2.3.0-shaped form (prices as stored, Decimals)."""
    data: dict[str, Any] = {
        "country_code": tariff.party.country_code,
        "party_id": tariff.party.party_id,
        "id": tariff.tariff_id,
        "currency": tariff.currency,
    }
    if tariff.type:
        data["type"] = tariff.type
    alt_texts = [{"language": text.language, "text": text.text} for text in tariff.alt_texts.all()]
    if alt_texts:
        data["tariff_alt_text"] = alt_texts
    if tariff.tariff_alt_url:
        data["tariff_alt_url"] = tariff.tariff_alt_url
    for limit in ("min_price", "max_price"):
        excl = getattr(tariff, f"{limit}_excl_vat")
        if excl is not None:
            data[limit] = {"before_taxes": excl, "after_taxes": getattr(tariff, f"{limit}_incl_vat")}
    if tariff.preauthorize_amount is not None:
        data["preauthorize_amount"] = tariff.preauthorize_amount
    elements = []
    for element in tariff.elements.all():
        components = []
        for dimension, price, vat, step_size in element.components():
            component: dict[str, Any] = {"type": dimension, "price": price}
            if vat is not None:
                component["vat"] = vat
            component["step_size"] = step_size
            components.append(component)
        entry: dict[str, Any] = {"price_components": components}
        restrictions = _restrictions(element)
        if restrictions:
            entry["restrictions"] = restrictions
        elements.append(entry)
    data["elements"] = elements
    data["tax_included"] = tariff.tax_included
    if tariff.start_date_time is not None:
        data["start_date_time"] = tariff.start_date_time
    if tariff.end_date_time is not None:
        data["end_date_time"] = tariff.end_date_time
    if tariff.energy_mix:
        data["energy_mix"] = tariff.energy_mix
    data["last_updated"] = tariff.last_updated
    return data


def serialize_tariff(tariff: Tariff, version: str | VersionProfile) -> dict[str, Any]:
    """A Tariff object in ``version`` (mod_tariffs, "Tariff Object")."""
    profile = version if isinstance(version, VersionProfile) else profile_for(version)
    return profile.adapt_tariff(tariff_canonical(tariff))


class TariffListView(OcpiListView):
    """Our tariffs (paginated)."""

    def get_queryset(self) -> Any:
        return tariffs_for_partner(self.partner)

    def serialize(self, obj: Tariff) -> dict[str, Any]:
        return serialize_tariff(obj, self.profile)


urlpatterns = [path("tariffs", TariffListView.as_view(), name="tariffs")]
