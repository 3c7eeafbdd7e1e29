"""seed_demo: realistic demo data, idempotent, with CDRs whose figures add up."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from locations.models import Connector, Evse, Location
from partners.models import Party
from sessions.models import Cdr
from tariffs.models import Tariff

pytestmark = pytest.mark.django_db


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def run_seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_a_second_run_leaves_the_same_rows_and_touches_nothing() -> None:
    first_output = run_seed()
    counts = row_counts()
    stamps = dict(Location.objects.values_list("location_id", "last_updated"))

    second_output = run_seed()

    assert row_counts() == counts
    assert dict(Location.objects.values_list("location_id", "last_updated")) == stamps
    assert "password" in first_output
    assert "exists already" in second_output
    assert "manage.py changepassword admin" in second_output


def test_a_run_restores_demo_values_that_were_changed() -> None:
    run_seed()
    Tariff.objects.filter(tariff_id="DC-NL").update(max_price_incl_vat=Decimal("99.00"))

    run_seed()

    assert Tariff.objects.get(tariff_id="DC-NL").max_price_incl_vat == Decimal("60.00")


def test_if_empty_leaves_a_database_with_data_alone() -> None:
    run_seed()
    Location.objects.filter(location_id="UTR01").update(name="Renamed by staff")

    output = run_seed("--if-empty")

    assert Location.objects.get(location_id="UTR01").name == "Renamed by staff"
    assert "demo data not loaded" in output


def test_the_printed_password_logs_the_demo_admin_in() -> None:
    output = run_seed()
    password = output.split("password ", 1)[1].split()[0]

    user = get_user_model().objects.get(username="admin")

    assert user.is_superuser
    assert user.check_password(password)


def test_the_demo_covers_three_countries_three_connector_standards_and_four_languages() -> None:
    run_seed()

    assert Party.objects.count() == 2
    assert set(Location.objects.values_list("country", flat=True)) == {"NLD", "DEU", "BEL"}
    assert {"IEC_62196_T2_COMBO", "IEC_62196_T2", "CHADEMO"} <= set(
        Connector.objects.values_list("standard", flat=True)
    )
    for tariff in Tariff.objects.prefetch_related("alt_texts", "elements"):
        assert tariff.type == "AD_HOC_PAYMENT"
        assert {text.language for text in tariff.alt_texts.all()} == {"en", "nl", "de", "fr"}
        assert any(element.start_time for element in tariff.elements.all())  # a time-of-day price
        assert any(element.parking_price for element in tariff.elements.all())  # an idle fee
    assert not Connector.objects.filter(tariffs=None).exists()
    assert all("CREDIT_CARD_PAYABLE" in evse.capabilities for evse in Evse.objects.all())


def test_the_demo_cdrs_add_up_to_the_cent() -> None:
    run_seed()

    cdrs = list(Cdr.objects.all())
    assert len(cdrs) >= 3
    for cdr in cdrs:
        parts = [
            getattr(cdr, f"total_{part}_cost_excl_vat") or Decimal(0)
            for part in ("fixed", "energy", "time", "parking", "reservation")
        ]
        assert sum(parts) == cdr.total_cost_excl_vat
        assert cdr.total_cost_excl_vat <= cdr.total_cost_incl_vat <= cdr.session.preauthorized_amount
    # One worked example: 32.418 kWh at 0.4876 excl. VAT, 6 idle minutes at 9.9174 an hour, 21% VAT.
    first = Cdr.objects.get(cdr_id="DEMO-NL-0001")
    assert first.total_energy_cost_excl_vat == Decimal("15.81")  # 15.8070168
    assert first.total_parking_cost_excl_vat == Decimal("0.99")  # 0.99174
    assert first.total_cost_incl_vat == Decimal("20.33")  # 16.80 + 3.53 VAT


def test_the_demo_cdrs_amount_before_taxes_plus_taxes_is_the_amount_after_taxes() -> None:
    run_seed()

    for cdr in Cdr.objects.all():
        taxes = sum(Decimal(tax["amount"]) for tax in cdr.total_cost_taxes)
        assert cdr.total_cost_excl_vat + taxes == cdr.total_cost_incl_vat, cdr.cdr_id
