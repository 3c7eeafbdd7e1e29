"""Back-office staff in a real browser: tariffs, locations, EVSEs and connectors; Finance; Read-only.

One flow, as staff would click it, with a screenshot of each step (see conftest.py).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from locations.models import Connector, Evse, Location
from partners.models import Party
from payments.models import PaymentTerminal
from tariffs.models import Tariff
from tests.factories import CdrFactory, PartnerFactory, TariffElementFactory, TariffFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery"


class Steps:
    """A page and a numbered screenshot per step."""

    def __init__(self, page: Any, folder: Path, live_url: str, number: int = 0) -> None:
        self.page = page
        self.folder = folder
        self.live_url = live_url
        self.number = number  # screenshots of later users continue the numbering

    def go(self, path: str) -> Any:
        return self.page.goto(self.live_url + path)

    def shot(self, name: str) -> None:
        self.number += 1
        self.page.screenshot(path=str(self.folder / f"{self.number:02d}-{name}.png"), full_page=True)

    def log_in(self, username: str) -> None:
        self.go(reverse("admin:login"))
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", PASSWORD)
        self.page.click("input[type=submit]")
        self.page.wait_for_selector("#user-tools")

    def save(self, button: str = "_save") -> None:
        with self.page.expect_navigation():
            self.page.click(f"input[name={button}]")

    def text(self) -> str:
        return self.page.inner_text("body")


def _finance_group() -> Group:
    # A transactional test empties the tables, and with them the groups the migrations created.
    migration = importlib.import_module("finance.migrations.0004_finance_group")
    group, _ = Group.objects.get_or_create(name=migration.GROUP)
    for app_label, codename in migration.PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return group


def _read_only_user() -> Any:
    # The Read-only group as its migration defines it (a transactional test empties the tables).
    migration = importlib.import_module("backoffice.migrations.0001_staff_groups")
    group, _ = Group.objects.get_or_create(name=migration.READ_ONLY)
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label__in=migration.OUR_APPS, codename__startswith="view_"
        ).exclude(codename__in=migration.NOT_FOR_READ_ONLY)
    )
    user = get_user_model().objects.create_user("reader", password=PASSWORD, is_staff=True)
    user.groups.add(group)
    return user


def test_back_office_staff_finance_and_read_only_in_the_browser(
    browser: Any, live_server: Any, artefacts: Path
) -> None:
    user_model = get_user_model()
    user_model.objects.create_superuser("staff", "staff@example.com", PASSWORD)
    party = Party.objects.create(
        country_code="NL", party_id="TST", name="Test Charging", terminal_languages=["en", "nl"]
    )
    german = Party.objects.create(country_code="DE", party_id="GER", name="German Charging")
    foreign = TariffFactory(party=german, tariff_id="DE-AC")
    TariffElementFactory(tariff=foreign)

    context = browser.new_context(viewport={"width": 1440, "height": 900})
    steps = Steps(context.new_page(), artefacts, live_server.url)

    # -- log in ----------------------------------------------------------------------------------
    steps.go(reverse("admin:login"))
    steps.shot("login")
    steps.log_in("staff")
    steps.shot("admin-index")

    # -- a multilingual tariff, previewed before saving ------------------------------------------
    page = steps.page
    steps.go(reverse("admin:tariffs_tariff_add"))
    page.select_option("#id_party", str(party.pk))
    page.fill("#id_tariff_id", "DC-BROWSER")
    page.select_option("#id_tax_included", "NO")
    page.fill("#id_preauthorize_amount", "50.00")
    page.fill("#id_alt_texts-0-language", "en")
    page.fill("#id_alt_texts-0-text", "EUR 0.62 per kWh, at most EUR 50.00.")
    page.click("#alt_texts-group .add-row a")
    page.fill("#id_alt_texts-1-language", "nl")
    page.fill("#id_alt_texts-1-text", "EUR 0,59 per kWh, maximaal EUR 50,00.")  # the old price
    page.fill("#id_elements-0-energy_price", "0.5124")
    page.fill("#id_elements-0-energy_vat", "21")
    steps.save("_preview")
    preview = steps.text()
    assert "Preview only: nothing is saved" in preview
    assert "€0.62 per kWh" in preview  # English, from the unsaved element
    assert "€\xa00,62 per kWh" in preview  # Dutch
    assert "The nl text for the terminal quotes 0,59" in preview
    assert not Tariff.objects.filter(tariff_id="DC-BROWSER").exists()
    page.locator(".terminal-preview").scroll_into_view_if_needed()
    steps.shot("tariff-preview-two-languages-stale-text")

    page.fill("#id_alt_texts-1-text", "EUR 0,62 per kWh, maximaal EUR 50,00.")
    steps.save()
    assert "was added successfully" in steps.text()
    assert "quotes" not in steps.text()
    tariff = Tariff.objects.get(tariff_id="DC-BROWSER")
    steps.shot("tariff-saved")

    # -- a location with an EVSE -----------------------------------------------------------------
    steps.go(reverse("admin:locations_location_add"))
    page.select_option("#id_party", str(party.pk))
    for field, value in {
        "location_id": "BROWSER01",
        "name": "Station square",
        "address": "Stationsplein 1",
        "postal_code": "3511 ED",
        "city": "Utrecht",
        "country": "NLD",
        "latitude": "52.0893190",
        "longitude": "5.1101700",
        "time_zone": "Europe/Amsterdam",
    }.items():
        page.fill(f"#id_{field}", value)
    page.select_option("#id_twentyfourseven", "true")
    page.click("#evses-group .add-row a")
    page.fill("#id_evses-0-uid", "BROWSER01-1")
    page.fill("#id_evses-0-evse_id", "NL*TST*EBROWSER011")
    page.fill("#id_evses-0-physical_reference", "01")
    page.select_option("#id_evses-0-status", "AVAILABLE")
    steps.shot("location-form")
    steps.save()
    assert "was added successfully" in steps.text()
    evse = Evse.objects.get(uid="BROWSER01-1")
    steps.shot("location-saved")

    # -- two connectors: a zero-power one is refused ---------------------------------------------
    steps.go(reverse("admin:locations_evse_change", args=[evse.pk]))
    offered = page.locator("#connectors-empty input[name$='-tariffs']")
    assert offered.count() == 1, "only the party's own tariff is offered"
    for index, (standard, power_type, volt, ampere, watt) in enumerate(
        (
            ("IEC_62196_T2_COMBO", "DC", "920", "200", "0"),
            ("IEC_62196_T2", "AC_3_PHASE", "230", "32", "22000"),
        )
    ):
        page.click("#connectors-group .add-row a")
        page.fill(f"#id_connectors-{index}-connector_id", str(index + 1))
        page.select_option(f"#id_connectors-{index}-standard", standard)
        page.select_option(f"#id_connectors-{index}-format", "CABLE" if power_type == "DC" else "SOCKET")
        page.select_option(f"#id_connectors-{index}-power_type", power_type)
        page.fill(f"#id_connectors-{index}-max_voltage", volt)
        page.fill(f"#id_connectors-{index}-max_amperage", ampere)
        page.fill(f"#id_connectors-{index}-max_electric_power", watt)
        page.check(f"input[name='connectors-{index}-tariffs'][value='{tariff.pk}']")
    steps.save("_continue")
    assert "Enter the power in watt: more than 0" in steps.text()
    assert not Connector.objects.filter(evse=evse).exists()
    page.locator(".errorlist").first.scroll_into_view_if_needed()
    steps.shot("zero-power-connector-refused")

    page.fill("#id_connectors-0-max_electric_power", "150000")
    steps.save("_continue")
    assert "was changed successfully" in steps.text()
    assert Connector.objects.filter(evse=evse).count() == 2
    steps.shot("evse-with-two-connectors-and-checklist")

    # -- another party's tariff is refused -------------------------------------------------------
    steps.go(reverse("admin:locations_connector_add"))
    page.click(".field-evse .select2-selection")
    page.fill(".select2-search__field", "BROWSER01")
    page.click(".select2-results__option:has-text('BROWSER01')")
    page.fill("#id_connector_id", "3")
    page.select_option("#id_standard", "IEC_62196_T2")
    page.select_option("#id_format", "SOCKET")
    page.select_option("#id_power_type", "AC_1_PHASE")
    page.fill("#id_max_voltage", "230")
    page.fill("#id_max_amperage", "32")
    page.check(f"input[name='tariffs'][value='{foreign.pk}']")
    steps.save()
    assert "DE-AC belong(s) to another party" in steps.text()
    assert not Connector.objects.filter(evse=evse, connector_id="3").exists()
    steps.shot("foreign-tariff-refused")

    # -- the checklist and what the terminal shows -----------------------------------------------
    steps.go(
        reverse("admin:locations_location_change", args=[Location.objects.get(location_id="BROWSER01").pk])
    )
    assert "Not ready for the terminal" in steps.text()  # no terminal, no partner yet
    steps.shot("location-checklist")
    location_pk = Location.objects.get(location_id="BROWSER01").pk
    for action in ("withdraw_locations", "publish_locations"):
        steps.go(reverse("admin:locations_location_changelist") + "?ready=no")
        page.check(f"input[name=_selected_action][value='{location_pk}']")
        page.select_option("select[name=action]", action)
        with page.expect_navigation():
            page.click("button[name=index]")
    assert "No terminal is assigned to the location" in steps.text()
    assert Location.objects.get(pk=location_pk).publish is False
    steps.shot("publish-not-ready-asks-first")
    with page.expect_navigation():
        page.click("input[value='Yes, publish anyway']")
    assert "1 location(s) published." in steps.text()
    steps.shot("location-list-not-ready-filter")

    steps.go(reverse("admin:locations_evse_terminal", args=[evse.pk]))
    shown = steps.text()
    assert "Station square" in shown
    assert "EUR 0,62 per kWh, maximaal EUR 50,00." in shown
    assert "€50.00" in shown
    steps.shot("evse-terminal-in-each-language")

    terminal = PaymentTerminal.objects.create(partner=PartnerFactory(name="Payter"), terminal_id="TERM-1")
    terminal.evses.add(evse)
    steps.go(reverse("admin:payments_paymentterminal_change", args=[terminal.pk]))
    assert "Everything it serves is ready" in steps.text()
    steps.shot("terminal-checklist")
    context.close()

    # -- Finance exports CDRs --------------------------------------------------------------------
    cdr = CdrFactory()
    finance = user_model.objects.create_user("finance", password=PASSWORD, is_staff=True)
    finance.groups.add(_finance_group())
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    steps = Steps(context.new_page(), artefacts, live_server.url, steps.number)
    steps.log_in("finance")
    steps.go(reverse("admin:finance_cdr_export_period"))
    steps.shot("finance-export-page")
    with steps.page.expect_download() as download_info:
        steps.page.click("input[type=submit][value=Export]")
    download = download_info.value
    saved = artefacts / download.suggested_filename
    download.save_as(str(saved))
    assert saved.suffix == ".csv"
    assert cdr.cdr_id in saved.read_text(encoding="utf-8-sig")
    context.close()

    # -- Read-only sees but cannot change --------------------------------------------------------
    _read_only_user()
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    steps = Steps(context.new_page(), artefacts, live_server.url, steps.number)
    steps.log_in("reader")
    location = Location.objects.get(location_id="BROWSER01")
    steps.go(reverse("admin:locations_location_change", args=[location.pk]))
    assert steps.page.locator("input[name=_save]").count() == 0
    assert "Station square" in steps.text()
    steps.shot("read-only-location")
    refused = steps.go(reverse("admin:locations_location_add"))
    assert refused.status == 403
    steps.shot("read-only-refused-add")
    response = steps.page.request.post(
        live_server.url + reverse("admin:locations_location_change", args=[location.pk]),
        form={"name": "Changed"},
    )
    assert response.status == 403
    location.refresh_from_db()
    assert location.name == "Station square"
    context.close()
