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
    """A finance clerk: a member of the Finance group (created by a finance migration), nothing more."""
    from django.contrib.auth.models import Group

    user = get_user_model().objects.create_user("finance", "finance@example.com", "correct horse battery")
    user.is_staff = True
    user.save()
    user.groups.add(Group.objects.get(name="Finance"))
    client = Client()
    client.force_login(user)
    return client
