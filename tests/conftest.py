"""Fixtures shared by the whole suite. Per-kind clients live here; per-package ones beside them."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client


@pytest.fixture
def staff_client(db: None) -> Client:
    """A logged-in superuser, as back-office staff use the admin."""
    user = get_user_model().objects.create_superuser("staff", "staff@example.com", "correct horse battery")
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def finance_client(db: None) -> Client:
    """A finance clerk: may view the CDR reconciliation and nothing else."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("finance", "finance@example.com", "correct horse battery")
    user.is_staff = True
    user.save()
    user.user_permissions.add(Permission.objects.get(codename="view_cdrreconciliation"))
    client = Client()
    client.force_login(user)
    return client
