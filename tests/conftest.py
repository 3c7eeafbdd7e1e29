"""Fixtures shared by the whole suite. Per-kind clients live here; per-package ones beside them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families


@pytest.fixture
def staff_client(db: None) -> Client:
    """A logged-in superuser, as back-office staff use the admin."""
    user = get_user_model().objects.create_superuser("staff", "staff@example.com", "correct horse battery")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def finance_client(db: None) -> Client:
    """A finance clerk: a member of the Finance group (created by a finance migration), nothing more."""
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user("finance", "finance@example.com", "correct horse battery")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="Finance"))
    client = Client()
    client.force_login(user)
    return client


METRICS_TOKEN = "scrape-token-for-the-tests"


@pytest.fixture
def scrape(settings: Any) -> Callable[[str, dict[str, str]], float]:
    """``scrape(name, labels)``: the sample's value now (0 when absent), read through /metrics."""
    settings.METRICS_TOKEN = METRICS_TOKEN

    def value(name: str, labels: dict[str, str]) -> float:
        response = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
        assert response.status_code == 200
        for family in text_string_to_metric_families(response.content.decode()):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return float(sample.value)
        return 0.0

    return value
