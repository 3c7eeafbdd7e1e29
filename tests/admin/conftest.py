"""Fixtures for the admin tests: the demo data, loaded through the command staff use.

Loading it takes a while, so it is loaded once per test module inside a transaction that is rolled
back afterwards; each test then runs in a savepoint of its own (pytest-django's ``db``).
"""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction


@pytest.fixture(scope="module")
def demo_output(django_db_setup: None, django_db_blocker: pytest.FixtureRequest) -> Iterator[str]:
    """What seed_demo printed; the data stays in place until the module's tests are done."""
    with django_db_blocker.unblock(), transaction.atomic():  # type: ignore[attr-defined]
        out = StringIO()
        call_command("seed_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture
def demo_data(demo_output: str, db: None) -> str:
    return demo_output
