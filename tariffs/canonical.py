"""The canonical form of a tariff: our one internal shape, which OCPI serves and CDRs keep.

2.3.0 field names, prices as stored (per ``tax_included``), Decimals and datetimes as values.
``ocpi_api.modules.tariffs`` adapts it to each OCPI version (``VersionProfile.adapt_tariff``);
``tariff_snapshot_for_cdr`` writes it to JSON for the CDR's ``tariffs`` (mod_cdrs, CDR.tariffs:
"List of relevant Tariffs"), where the versions adapt it again when the CDR is served.
"""

from __future__ import annotations

import json
from typing import Any

from cpo_portal.exact_json import dumps
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


def tariff_snapshot_for_cdr(tariff: Tariff) -> dict[str, Any]:
    """The tariff as it is now, for the CDR: the canonical form written to JSON (numbers exact in
    the text, read back as JSON numbers)."""
    return json.loads(dumps(tariff_canonical(tariff)))
