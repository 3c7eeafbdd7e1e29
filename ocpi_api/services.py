"""Writes of the OCPI app that do not belong to one module."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ocpi_api.models import InboundRequestLog, OutboundRequestLog


def request_logs_purge(*, retention_days: int | None = None) -> int:
    """Delete inbound and outbound request logs older than ``retention_days`` (default: the setting)."""
    days = settings.OCPI_REQUEST_LOG_RETENTION_DAYS if retention_days is None else retention_days
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    for model in (InboundRequestLog, OutboundRequestLog):
        count, _ = model.objects.filter(created_at__lt=cutoff).delete()
        deleted += count
    return deleted
