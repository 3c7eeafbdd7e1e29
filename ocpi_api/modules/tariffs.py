"""Tariffs module, Sender interface (mod_tariffs): GET list.

``tariffs.canonical.tariff_canonical`` writes a Tariff in our one internal shape (2.3.0 field
names, prices as stored, per ``tax_included``); ``serialize_tariff`` adapts it to a version through
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
from tariffs.canonical import tariff_canonical
from tariffs.models import Tariff


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
