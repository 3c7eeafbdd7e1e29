"""Every admin page renders for a superuser with the demo data loaded."""

from __future__ import annotations

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
