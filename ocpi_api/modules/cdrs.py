"""CDRs module, Sender interface (mod_cdrs): GET list.

A partner sees only the CDRs of sessions started with its own token. ``serialize_cdr`` writes
the CDR for either version: every cost in the version's Price shape, and the tariff snapshots
(kept in 2.3.0 shape) adapted like live tariffs.
"""

from __future__ import annotations

from typing import Any

from django.urls import path

from ocpi_api.modules.sessions import charging_periods_out
from ocpi_api.selectors import cdrs_for_partner
from ocpi_api.transport.views import OcpiListView
from ocpi_api.versions import VersionProfile, profile_for
from sessions.models import Cdr

_COSTS = ("fixed", "energy", "time", "parking", "reservation")


def serialize_cdr(cdr: Cdr, version: str | VersionProfile) -> dict[str, Any]:
    """A CDR object (mod_cdrs, "CDR Object")."""
    profile = version if isinstance(version, VersionProfile) else profile_for(version)
    data: dict[str, Any] = {
        "country_code": cdr.party.country_code,
        "party_id": cdr.party.party_id,
        "id": cdr.cdr_id,
        "start_date_time": cdr.start_date_time,
        "end_date_time": cdr.end_date_time,
    }
    if cdr.session is not None:
        data["session_id"] = cdr.session.session_id
    data["cdr_token"] = cdr.cdr_token
    data["auth_method"] = cdr.auth_method
    if cdr.authorization_reference:
        data["authorization_reference"] = cdr.authorization_reference
    data["cdr_location"] = cdr.cdr_location
    if cdr.meter_id:
        data["meter_id"] = cdr.meter_id
    data["currency"] = cdr.currency
    if cdr.tariffs:
        data["tariffs"] = [profile.adapt_tariff(tariff) for tariff in cdr.tariffs]
    data["charging_periods"] = charging_periods_out(cdr.charging_periods)
    if cdr.signed_data:
        data["signed_data"] = cdr.signed_data
    data["total_cost"] = profile.price(cdr.total_cost_excl_vat, cdr.total_cost_incl_vat, cdr.total_cost_taxes)
    costs = {
        kind: profile.price(
            getattr(cdr, f"total_{kind}_cost_excl_vat"),
            getattr(cdr, f"total_{kind}_cost_incl_vat"),
            getattr(cdr, f"total_{kind}_cost_taxes"),
        )
        for kind in _COSTS
    }
    if costs["fixed"] is not None:
        data["total_fixed_cost"] = costs["fixed"]
    data["total_energy"] = cdr.total_energy
    if costs["energy"] is not None:
        data["total_energy_cost"] = costs["energy"]
    data["total_time"] = cdr.total_time
    if costs["time"] is not None:
        data["total_time_cost"] = costs["time"]
    if cdr.total_parking_time is not None:
        data["total_parking_time"] = cdr.total_parking_time
    for kind in ("parking", "reservation"):
        if costs[kind] is not None:
            data[f"total_{kind}_cost"] = costs[kind]
    for name in ("remark", "invoice_reference_id"):
        if getattr(cdr, name):
            data[name] = getattr(cdr, name)
    if cdr.credit is not None:
        data["credit"] = cdr.credit
    if cdr.credit_reference_id:
        data["credit_reference_id"] = cdr.credit_reference_id
    if cdr.home_charging_compensation is not None:
        data["home_charging_compensation"] = cdr.home_charging_compensation
    data["last_updated"] = cdr.last_updated
    return data


class CdrListView(OcpiListView):
    """CDRs of sessions started with the partner's tokens (paginated)."""

    def get_queryset(self) -> Any:
        return cdrs_for_partner(self.partner)

    def serialize(self, obj: Cdr) -> dict[str, Any]:
        return serialize_cdr(obj, self.profile)


urlpatterns = [path("cdrs", CdrListView.as_view(), name="cdrs")]
