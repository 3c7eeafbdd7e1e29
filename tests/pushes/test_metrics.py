"""Prometheus metrics at /metrics: behind METRICS_TOKEN, counting requests, OCPI calls both ways,
push outcomes, task durations, sessions and CDRs, and the outbox per partner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from cpo_portal.tasks import scheduler_heartbeat
from ocpi_api.transport.tokens import authorization_header
from partners.models import Partner
from ptp_simulator.process import SimulatorProcess
from tests.conftest import METRICS_TOKEN as TOKEN
from tests.factories import CdrFactory, ChargingSessionFactory, LocationFactory, PartnerFactory


@pytest.mark.django_db
def test_metrics_do_not_exist_without_a_token_and_refuse_a_wrong_one(settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["portal.example.com"]

    settings.METRICS_TOKEN = ""
    absent = Client().get("/metrics", HTTP_HOST="10.0.0.9")
    settings.METRICS_TOKEN = TOKEN
    wrong = Client().get("/metrics", HTTP_HOST="10.0.0.9", HTTP_AUTHORIZATION="Bearer guess")
    right = Client().get("/metrics", HTTP_HOST="10.0.0.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert (absent.status_code, wrong.status_code, right.status_code) == (404, 401, 200)
    assert right["Content-Type"].startswith("text/plain")
    assert TOKEN not in right.content.decode()


@pytest.mark.django_db
def test_requests_and_inbound_ocpi_calls_are_counted_by_view_module_and_status(scrape: Any) -> None:
    partner = PartnerFactory()
    labels = {"direction": "in", "module": "locations", "http_status": "200", "ocpi_status": "1000"}
    calls_before = scrape("cpo_ocpi_calls_total", labels)

    response = Client().get(
        "/ocpi/2.2.1/locations", HTTP_AUTHORIZATION=authorization_header(partner.plain_token_c)
    )
    page = Client().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    assert response.status_code == 200
    assert scrape("cpo_ocpi_calls_total", labels) == calls_before + 1
    requests = [
        sample
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == "cpo_http_requests_total" and sample.labels["status"] == "200"
    ]
    assert any("locations" in sample.labels["view"] and sample.value >= 1 for sample in requests), requests


def test_outbound_calls_delivery_outcomes_and_the_outbox_per_partner(
    payter: Partner, sim: SimulatorProcess, committed: Callable[..., Any], scrape: Any, push_settings: Any
) -> None:
    push_settings.PUSH_RETRY_BASE_SECONDS = 3600
    push_settings.PUSH_RETRY_CAP_SECONDS = 3600
    out = {"direction": "out", "module": "locations", "http_status": "500"}
    retries_before = scrape("cpo_push_delivery_attempts_total", {"outcome": "RETRY"})
    out_before = scrape("cpo_ocpi_calls_total", out)
    sim.control.fault("/ocpi/2.2.1/locations", "http_500")

    with committed():
        LocationFactory()

    assert scrape("cpo_push_delivery_attempts_total", {"outcome": "RETRY"}) == retries_before + 1
    assert scrape("cpo_ocpi_calls_total", out) == out_before + 1
    assert scrape("cpo_outbox_depth", {"partner": "Payter"}) == 1
    assert scrape("cpo_outbox_oldest_pending_age_seconds", {"partner": "Payter"}) >= 0


@pytest.mark.django_db
def test_sessions_started_and_cdrs_created_are_counted(scrape: Any) -> None:
    sessions_before = scrape("cpo_charging_sessions_started_total", {})
    cdrs_before = scrape("cpo_cdrs_created_total", {})

    CdrFactory(session=ChargingSessionFactory())

    assert scrape("cpo_charging_sessions_started_total", {}) == sessions_before + 1
    assert scrape("cpo_cdrs_created_total", {}) == cdrs_before + 1


@pytest.mark.django_db
def test_celery_task_durations_are_observed(scrape: Any) -> None:
    labels = {"task": "cpo_portal.tasks.scheduler_heartbeat", "state": "SUCCESS"}
    before = scrape("cpo_celery_task_duration_seconds_count", labels)

    scheduler_heartbeat.delay()

    assert scrape("cpo_celery_task_duration_seconds_count", labels) == before + 1
