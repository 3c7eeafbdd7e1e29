"""Staff roles (groups made by backoffice's migration): each sees what it needs, in the admin and
the finance API, and is refused the rest."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from locations.models import Location
from partners.models import Partner
from pushes.models import OutboxMessage, PartnerCopy
from tests.admin.forms import form_data
from tests.factories import LocationFactory, PartnerFactory, PaymentTerminalFactory, TariffFactory

pytestmark = pytest.mark.django_db

EXPORT_API = "/finance/api/v1/cdrs/export"


def _member_of(group: str) -> Client:
    username = group.lower().replace(" ", "-")
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "correct horse battery")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


def _changelist(model: str) -> str:
    return reverse(f"admin:{model}_changelist")


def _change(model: str, pk: int) -> str:
    return reverse(f"admin:{model}_change", args=[pk])


def test_back_office_edits_locations_tariffs_and_terminals_and_only_reads_partners() -> None:
    client = _member_of("Back office")
    location = LocationFactory(name="Before")
    partner = PartnerFactory()

    data = form_data(client.get(_change("locations_location", location.pk)))
    data["name"] = "After"
    assert client.post(_change("locations_location", location.pk), data).status_code == 302
    assert Location.objects.get(pk=location.pk).name == "After"
    for model in ("tariffs_tariff", "payments_paymentterminal", "locations_location", "locations_evse"):
        assert client.get(reverse(f"admin:{model}_add")).status_code == 200, model
    assert client.get(_change("tariffs_tariff", TariffFactory().pk)).status_code == 200
    assert client.get(_change("payments_paymentterminal", PaymentTerminalFactory().pk)).status_code == 200

    partner_page = client.get(_change("partners_partner", partner.pk))
    assert partner_page.status_code == 200
    assert 'name="_save"' not in partner_page.content.decode()
    assert client.post(_change("partners_partner", partner.pk), {"name": "Renamed"}).status_code == 403
    assert Partner.objects.get(pk=partner.pk).name == partner.name
    for refused in ("pushes_outboxmessage", "ocpi_api_inboundrequestlog", "charging_sessions_cdr"):
        assert client.get(_changelist(refused)).status_code == 403, refused
    assert client.get(reverse("admin:locations_location_delete", args=[location.pk])).status_code == 403
    assert client.get(EXPORT_API).status_code == 403


def test_operations_runs_partners_pushes_and_request_logs_but_edits_no_location_or_tariff() -> None:
    client = _member_of("Operations")
    partner = PartnerFactory()
    copy = PartnerCopy.objects.create(partner=partner, object_type="location", object_id="LOC-OPS")
    now = timezone.now()
    message = OutboxMessage.objects.create(
        copy=copy, partner=partner, module="locations", kind="STATE", action="UPSERT",
        state=OutboxMessage.State.DEAD, attempts=3, changed_at=now, next_attempt_at=now,
    )  # fmt: skip

    for model in (
        "partners_partner",
        "pushes_outboxmessage",
        "pushes_deadletter",
        "pushes_partnerpushhealth",
        "pushes_deliveryattempt",
        "ocpi_api_inboundrequestlog",
        "ocpi_api_outboundrequestlog",
    ):
        assert client.get(_changelist(model)).status_code == 200, model
    assert 'name="_save"' in client.get(_change("partners_partner", partner.pk)).content.decode()
    retry = client.post(
        _changelist("pushes_deadletter"), {"action": "retry_now", "_selected_action": [str(message.pk)]}
    )
    assert retry.status_code == 302
    assert OutboxMessage.objects.get(pk=message.pk).state == OutboxMessage.State.PENDING

    location = LocationFactory(name="Before")
    assert client.get(reverse("admin:locations_location_add")).status_code == 403
    assert client.get(reverse("admin:tariffs_tariff_add")).status_code == 403
    assert client.post(_change("locations_location", location.pk), {"name": "After"}).status_code == 403
    assert Location.objects.get(pk=location.pk).name == "Before"
    assert client.get(_changelist("charging_sessions_cdr")).status_code == 403
    assert client.get(EXPORT_API).status_code == 403


def test_read_only_sees_every_list_and_changes_nothing() -> None:
    client = _member_of("Read-only")
    location = LocationFactory(name="Before")

    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label in ("auth",):
            continue  # people and groups are the superuser's
        name = f"{opts.app_label}_{opts.model_name}"
        assert client.get(_changelist(name)).status_code == 200, opts.label
        assert client.get(reverse(f"admin:{name}_add")).status_code == 403, opts.label
    page = client.get(_change("locations_location", location.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(_change("locations_location", location.pk), {"name": "After"}).status_code == 403
    assert Location.objects.get(pk=location.pk).name == "Before"
    assert client.get(EXPORT_API).status_code == 403


def test_finance_exports_cdrs_and_edits_nothing_of_the_back_office(finance_client: Client) -> None:
    assert finance_client.get(EXPORT_API).status_code == 200
    assert finance_client.get(reverse("admin:locations_location_add")).status_code == 403
    assert finance_client.get(_changelist("partners_partner")).status_code == 403


def test_read_only_does_not_unmask_token_uids() -> None:
    assert not Group.objects.get(name="Read-only").permissions.filter(codename="view_token_uid").exists()
