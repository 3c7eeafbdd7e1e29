"""Every admin page renders for a superuser with the demo data loaded."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
IDS = [model._meta.label for model, _ in REGISTERED]


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=IDS)
def test_every_changelist_renders(
    demo_data: None, staff_client: Client, model: type[Model], model_admin: admin.ModelAdmin
) -> None:
    opts = model._meta
    response = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=IDS)
def test_every_add_page_renders_or_is_refused_where_adding_is_not_allowed(
    demo_data: None, staff_client: Client, model: type[Model], model_admin: admin.ModelAdmin
) -> None:
    opts = model._meta
    response = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    can_add = model_admin.has_add_permission(response.wsgi_request)
    assert response.status_code == (200 if can_add else 403)


@pytest.fixture
def a_row_of_what_the_demo_lacks(demo_data: None) -> None:
    """Rows the demo has no reason to hold (logs, the outbox, groups), so every change page is seen."""
    from django.contrib.auth.models import Group

    from chargers.services import charging_backend_create
    from finance.models import ExportJob
    from ocpi_api.models import InboundRequestLog, OutboundRequestLog
    from partners.models import Partner
    from pushes.models import DeliveryAttempt, ObjectType, OutboxMessage, PartnerCopy, PullCursor
    from tests.factories import TokenFactory

    now = timezone.now()
    partner = Partner.objects.order_by("pk").first()
    Group.objects.get_or_create(name="Finance")  # the finance migration creates it
    TokenFactory(partner=partner)
    log = {
        "partner": partner,
        "method": "GET",
        "url": "https://ptp.example.com/ocpi/versions",
        "http_status": 200,
    }
    InboundRequestLog.objects.create(**log, ocpi_status=1000)
    OutboundRequestLog.objects.create(**log, ocpi_status=1000)
    copy = PartnerCopy.objects.create(
        partner=partner, object_type=ObjectType.LOCATION, object_id="1", label="L1"
    )
    message = {
        "copy": copy,
        "partner": partner,
        "module": "locations",
        "changed_at": now,
        "next_attempt_at": now,
    }
    pending = OutboxMessage.objects.create(**message, kind="STATE", action="UPSERT")
    OutboxMessage.objects.create(**message, kind="EVENT", action="POST_CDR", state=OutboxMessage.State.DEAD)
    DeliveryAttempt.objects.create(
        message=pending, partner=partner, started_at=now, method="PUT", url=log["url"], outcome="RETRY"
    )
    PullCursor.objects.create(partner=partner, name="terminals", last_run_at=now)
    charging_backend_create(name="Central system")
    ExportJob.objects.create(export_format="csv", schedule="daily", file_name="daily_cdrs_all.csv")


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=IDS)
def test_every_change_page_renders(
    a_row_of_what_the_demo_lacks: None,
    staff_client: Client,
    model: type[Model],
    model_admin: admin.ModelAdmin,
) -> None:
    opts = model._meta
    obj = model_admin.get_queryset(admin_request(staff_client)).order_by("pk").first()
    assert obj is not None, f"no {opts.verbose_name} to show"
    response = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert response.status_code == 200


def admin_request(client: Client) -> Any:
    """A request of the logged-in staff member, for the admins' own querysets."""
    return client.get(reverse("admin:index")).wsgi_request


OWN_CHANGELISTS = [
    "locations_location",
    "locations_evse",
    "locations_connector",
    "tariffs_tariff",
    "charging_sessions_chargingsession",
    "charging_sessions_cdr",
    "charging_sessions_meterreading",
    "charging_sessions_receivedcommand",
    "payments_paymentterminal",
    "payments_financialadviceconfirmation",
]


@pytest.mark.parametrize("name", OWN_CHANGELISTS)
def test_a_changelist_costs_a_fixed_number_of_queries_whatever_its_rows(
    demo_data: None, staff_client: Client, name: str, django_assert_max_num_queries: Any
) -> None:
    # Sessions, a user, the rows, and one query per filter or prefetch: not one per row.
    with django_assert_max_num_queries(14):
        response = staff_client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200
