"""Unexpected failures still answer in the envelope; request logs are purged after retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from ocpi_api.models import InboundRequestLog, OutboundRequestLog
from ocpi_api.tasks import request_logs_purge_task

pytestmark = pytest.mark.django_db


@pytest.mark.urls("tests.ocpi.urls_failing")
@pytest.mark.parametrize("path", ["/ocpi/test/failing-view", "/ocpi/test/failing-django-view"])
def test_an_unexpected_exception_is_a_500_in_the_envelope_without_internals(
    ocpi_client_for, partner, path, caplog
):
    client = ocpi_client_for(partner)
    client.raise_request_exception = False
    response = client.get(path)
    assert response.status_code == 500
    body = response.json()
    assert body["status_code"] == 3000
    assert body["status_message"] == "Internal server error"
    assert "unexpected failure" not in response.content.decode()
    assert response["X-Request-ID"]
    assert InboundRequestLog.objects.get(url=path).http_status == 500


def test_old_request_logs_are_purged_after_the_retention_period(settings):
    settings.OCPI_REQUEST_LOG_RETENTION_DAYS = 7
    old = timezone.now() - timedelta(days=8)
    for model in (InboundRequestLog, OutboundRequestLog):
        kept = model.objects.create(method="GET", url="/kept")
        gone = model.objects.create(method="GET", url="/gone")
        model.objects.filter(pk=gone.pk).update(created_at=old)
        assert kept.pk

    assert request_logs_purge_task() == 2

    assert set(InboundRequestLog.objects.values_list("url", flat=True)) == {"/kept"}
    assert set(OutboundRequestLog.objects.values_list("url", flat=True)) == {"/kept"}


def test_the_purge_command_takes_a_retention_of_its_own(capsys):
    entry = InboundRequestLog.objects.create(method="GET", url="/yesterday")
    InboundRequestLog.objects.filter(pk=entry.pk).update(created_at=timezone.now() - timedelta(days=2))
    call_command("ocpi_purge_request_logs", "--days", "1")
    assert "Deleted 1 request log entries." in capsys.readouterr().out
    assert not InboundRequestLog.objects.exists()


def test_the_purge_runs_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["ocpi-request-logs-purge"]
    assert entry["task"] == request_logs_purge_task.name


def test_a_body_with_a_nul_character_is_refused_and_still_logged(ocpi_client_for, partner):
    client = ocpi_client_for(partner)
    response = client.post(
        "/ocpi/2.2.1/payments/financial-advice-confirmations",
        data=b'{"id": "F\x00C"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["status_code"] == 2001
    logged = InboundRequestLog.objects.get(url="/ocpi/2.2.1/payments/financial-advice-confirmations")
    assert "F\\u0000C" in logged.request_body
