"""/healthz and /readyz answer probes: no authentication, plain HTTP, any Host, no secrets."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client
from django.utils import timezone

from cpo_portal.heartbeat import heartbeat_record
from tests.operations.conftest import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_like(settings: Any) -> None:
    """HTTPS redirects on and only the public host allowed, as in production."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["portal.example.com"]


def _get(path: str) -> tuple[int, dict[str, Any]]:
    response = Client().get(path, HTTP_HOST="10.1.2.3:8000")
    return response.status_code, json.loads(response.content)


def test_healthz_answers_a_probe_over_plain_http_from_any_host(production_like: None) -> None:
    assert _get("/healthz") == (200, {"status": "ok"})


def test_readyz_is_ready_when_every_check_passes(production_like: None) -> None:
    heartbeat_record()

    status, body = _get("/readyz")

    assert status == 200, body
    assert body == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok", "migrations": "ok", "scheduler": "ok"},
    }


def test_readyz_is_not_ready_when_the_scheduler_has_not_run_for_a_while(settings: Any) -> None:
    heartbeat_record(at=timezone.now() - timedelta(seconds=settings.SCHEDULER_STALE_SECONDS + 30))

    status, body = _get("/readyz")

    assert status == 503
    assert body["checks"]["scheduler"].startswith("last beat ")
    assert body["checks"]["database"] == "ok"


def test_readyz_says_when_the_scheduler_never_ran() -> None:
    status, body = _get("/readyz")

    assert (status, body["checks"]["scheduler"]) == (503, "never ran")


def test_readyz_is_not_ready_without_redis_and_names_no_address(settings: Any) -> None:
    heartbeat_record()
    settings.REDIS_URL = f"redis://:secret-password@127.0.0.1:{free_port()}/0"

    status, body = _get("/readyz")

    assert (status, body["checks"]["redis"]) == (503, "unreachable")
    assert "secret" not in json.dumps(body)
    assert "127.0.0.1" not in json.dumps(body)


def test_readyz_without_redis_configured_does_not_need_it(settings: Any) -> None:
    heartbeat_record()
    settings.REDIS_URL = ""

    status, body = _get("/readyz")

    assert (status, body["checks"]["redis"]) == (200, "not configured")


def test_readyz_is_not_ready_while_a_migration_is_unapplied() -> None:
    heartbeat_record()
    MigrationRecorder.Migration.objects.filter(app="cpo_portal").delete()

    status, body = _get("/readyz")

    assert (status, body["checks"]["migrations"]) == (503, "1 unapplied")
