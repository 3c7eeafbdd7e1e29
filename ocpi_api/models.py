"""Records of every OCPI call, inbound (a partner called us) and outbound (we called a partner).

Both are append-only, read-only in the admin, and purged after ``OCPI_REQUEST_LOG_RETENTION_DAYS``
(see ``ocpi_api.services.request_logs_purge``). Bodies are cut to ``OCPI_REQUEST_LOG_BODY_LIMIT``
characters so that a large page never bloats the table, and credentials tokens are redacted.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db import models

# Credentials objects carry tokens in clear ("token": "..."); logs must not keep them, or the hashes
# we store instead of our tokens would be for nothing.
_TOKEN_VALUE = re.compile(r'("token"\s*:\s*")(?:[^"\\]|\\.)*(")')


def log_body(content: str | bytes) -> str:
    """A body as the request logs keep it: tokens redacted, cut to OCPI_REQUEST_LOG_BODY_LIMIT."""
    limit = settings.OCPI_REQUEST_LOG_BODY_LIMIT
    total = len(content)
    # Decode only what is kept: a page of 100 locations need not be decoded whole.
    head = content[: limit + 200]
    text = head.decode("utf-8", errors="replace") if isinstance(head, bytes) else head
    text = _TOKEN_VALUE.sub(r"\1[redacted]\2", text)
    if total <= limit:
        return text
    return text[:limit] + f"... [{total} in all]"


class RequestLog(models.Model):
    """What both directions record about one HTTP exchange."""

    # Indexed by each log's (partner, -created_at) index, which also serves lookups by partner.
    partner = models.ForeignKey(
        "partners.Partner",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    method = models.CharField(max_length=10)
    url = models.CharField(max_length=2000)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    ocpi_status = models.PositiveIntegerField(null=True, blank=True)
    request_id = models.CharField(max_length=100, blank=True)
    correlation_id = models.CharField(max_length=100, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=500, blank=True, help_text="Transport failure or exception, if any.")

    class Meta:
        abstract = True
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.method} {self.url} {self.http_status or '-'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.escape_nul()
        super().save(*args, **kwargs)

    def escape_nul(self) -> None:
        """PostgreSQL text cannot hold a NUL character; a partner that sends one must not cost us
        the record of its request. It is kept visible, escaped. (Call before a bulk_create too.)"""
        for field in self._meta.concrete_fields:
            value = getattr(self, field.attname)
            if isinstance(value, str) and "\x00" in value:
                setattr(self, field.attname, value.replace("\x00", "\\u0000"))


class InboundRequestLog(RequestLog):
    """One request a partner made to our OCPI endpoints."""

    class Meta(RequestLog.Meta):
        verbose_name = "inbound OCPI request"
        indexes = (
            # The admin lists a partner's requests newest first.
            models.Index(fields=("partner", "-created_at"), name="inbound_log_partner_idx"),
        )


class OutboundRequestLog(RequestLog):
    """One request we made to a partner's OCPI endpoints."""

    class Meta(RequestLog.Meta):
        verbose_name = "outbound OCPI request"
        indexes = (models.Index(fields=("partner", "-created_at"), name="outbound_log_partner_idx"),)
