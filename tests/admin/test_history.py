"""Who changed what: an admin edit of a curated object is recorded with its old and new values and
the user, and shown on the object's History page; machine-driven changes and secrets are not."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from locations.models import Evse, EvseStatus, Location
from partners.models import Partner
from tariffs.models import TariffAltText
from tests.admin.forms import form_data
from tests.factories import (
    ConnectorFactory,
    EvseFactory,
    LocationFactory,
    PartnerFactory,
    TariffAltTextFactory,
    TariffElementFactory,
    TariffFactory,
)

pytestmark = pytest.mark.django_db


def test_an_admin_edit_of_a_location_is_recorded_with_old_and_new_values_and_the_user(
    staff_client: Client,
) -> None:
    location = LocationFactory(name="Station square", city="Utrecht")
    change = reverse("admin:locations_location_change", args=[location.pk])
    data = form_data(staff_client.get(change))
    data.update({"name": "Central station", "city": "Amersfoort"})

    response = staff_client.post(change, data)

    assert response.status_code == 302, response.context["errors"] if response.context else response
    latest = Location.history.filter(id=location.pk).latest("history_date")  # type: ignore[attr-defined]
    assert latest.history_type == "~"
    assert latest.history_user == get_user_model().objects.get(username="staff")
    delta = latest.diff_against(latest.prev_record)
    changes = {change.field: (change.old, change.new) for change in delta.changes}
    assert changes == {"name": ("Station square", "Central station"), "city": ("Utrecht", "Amersfoort")}

    page = staff_client.get(reverse("admin:locations_location_history", args=[location.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Station square" in text
    assert "Central station" in text
    assert ">staff<" in text


def test_a_tariffs_history_lists_the_changes_of_its_texts_with_the_user(staff_client: Client) -> None:
    tariff = TariffFactory()
    TariffElementFactory(tariff=tariff)
    text = TariffAltTextFactory(tariff=tariff, language="en", text="Pay by card")
    change = reverse("admin:tariffs_tariff_change", args=[tariff.pk])
    data = form_data(staff_client.get(change))
    index = next(key for key, value in data.items() if key.endswith("-id") and value == str(text.pk))
    data[index.replace("-id", "-text")] = "Pay by card at the terminal"

    response = staff_client.post(change, data)

    assert response.status_code == 302, response.context["errors"] if response.context else response
    latest = TariffAltText.history.filter(id=text.pk).latest("history_date")  # type: ignore[attr-defined]
    assert latest.history_user.username == "staff"
    page = staff_client.get(reverse("admin:tariffs_tariff_history", args=[tariff.pk])).content.decode()
    assert "Pay by card&nbsp;&rarr;&nbsp;Pay by card at the terminal" in page


def test_a_connectors_tariffs_are_part_of_its_history() -> None:
    connector = ConnectorFactory()
    tariff = TariffFactory(party=connector.evse.location.party)

    connector.tariffs.add(tariff)

    latest = connector.history.latest("history_date")
    assert [row.tariff_id for row in latest.tariffs.all()] == [tariff.pk]


def test_a_status_reported_by_the_charger_writes_no_history_but_a_staff_edit_does(
    staff_client: Client,
) -> None:
    evse = EvseFactory(status=EvseStatus.AVAILABLE)
    before = Evse.history.filter(id=evse.pk).count()  # type: ignore[attr-defined]

    # What sessions/services.py does on every session start and stop.
    evse.status = EvseStatus.CHARGING
    evse.save(update_fields=["status"])
    assert Evse.history.filter(id=evse.pk).count() == before  # type: ignore[attr-defined]

    change = reverse("admin:locations_evse_change", args=[evse.pk])
    data = form_data(staff_client.get(change))
    data["status"] = EvseStatus.OUTOFORDER
    assert staff_client.post(change, data).status_code == 302
    latest = Evse.history.filter(id=evse.pk).latest("history_date")  # type: ignore[attr-defined]
    assert latest.history_user.username == "staff"
    assert {(c.field, c.old, c.new) for c in latest.diff_against(latest.prev_record).changes} == {
        ("status", EvseStatus.AVAILABLE, EvseStatus.OUTOFORDER)
    }


def test_partner_tokens_stay_out_of_the_history() -> None:
    partner = PartnerFactory(token_b="secret-token-b")
    before = Partner.history.filter(id=partner.pk).count()  # type: ignore[attr-defined]
    partner.token_c_hash = "0" * 64
    partner.save()

    columns = {field.name for field in Partner.history.model._meta.fields}  # type: ignore[attr-defined]
    assert not {"token_a_hash", "token_c_hash", "token_b"} & columns
    assert Partner.history.filter(id=partner.pk).count() == before + 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "url",
    ["/admin/tariffs/tariff/not-an-id/history/", "/admin/locations/location/not-an-id/history/"],
)
def test_a_history_page_of_something_that_is_not_an_id_is_not_found(staff_client: Client, url: str) -> None:
    assert staff_client.get(url).status_code == 404
