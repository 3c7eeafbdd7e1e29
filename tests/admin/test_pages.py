"""Every admin page renders for a superuser with the demo data loaded."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.db.models import Model
from django.test import Client
from django.urls import reverse

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


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=IDS)
def test_every_change_page_renders(
    demo_data: None, staff_client: Client, model: type[Model], model_admin: admin.ModelAdmin
) -> None:
    opts = model._meta
    obj = model._default_manager.order_by("pk").first()
    if obj is None:
        pytest.skip(f"the demo data has no {opts.verbose_name}")
    response = staff_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert response.status_code == 200


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
