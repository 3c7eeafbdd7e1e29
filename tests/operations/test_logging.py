"""Logs are JSON lines in production (with request id, partner, module, status) and text in development."""

from __future__ import annotations

import json
import logging
import secrets
import subprocess
import sys

import pytest
from django.test import Client

from ocpi_api.transport.tokens import authorization_header
from tests.factories import PartnerFactory
from tests.operations.conftest import ROOT, clean_environment

EMIT = (
    "import django, logging; django.setup(); "
    "logging.getLogger('cpo_portal.check').warning('hello %s', 'there', extra={'partner': 'Payter'})"
)


def _stderr(env: dict[str, str]) -> str:
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", EMIT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stderr.strip()


def test_production_logs_one_json_object_per_line() -> None:
    env = clean_environment(
        DJANGO_SETTINGS_MODULE="cpo_portal.settings", SECRET_KEY=secrets.token_urlsafe(50)
    )

    event = json.loads(_stderr(env))

    assert event["level"] == "WARNING"
    assert event["logger"] == "cpo_portal.check"
    assert event["message"] == "hello there"
    assert event["partner"] == "Payter"
    assert event["time"].endswith("+00:00")


def test_development_logs_readable_text() -> None:
    line = _stderr(clean_environment(DJANGO_SETTINGS_MODULE="cpo_portal.settings_dev"))

    assert line.endswith("WARNING cpo_portal.check hello there")


@pytest.mark.django_db
def test_an_inbound_ocpi_call_is_logged_with_request_id_partner_module_and_status(
    caplog: pytest.LogCaptureFixture,
) -> None:
    partner = PartnerFactory(name="Logged partner")
    caplog.set_level(logging.INFO, logger="ocpi_api.transport.middleware")

    Client().get(
        "/ocpi/2.2.1/tariffs",
        HTTP_AUTHORIZATION=authorization_header(partner.plain_token_c),
        HTTP_X_REQUEST_ID="req-42",
    )

    record = next(r for r in caplog.records if r.getMessage().startswith("OCPI GET /ocpi/2.2.1/tariffs"))
    assert (record.request_id, record.partner, record.ocpi_module, record.status, record.http_status) == (  # type: ignore[attr-defined]
        "req-42",
        "Logged partner",
        "tariffs",
        1000,
        200,
    )
