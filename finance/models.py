"""Finance's view of the CDRs: each CDR beside what the PTP captured for it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from sessions.models import Cdr


class CdrReconciliation(Cdr):
    """A CDR as finance reconciles it with the financial advice confirmations (no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "reconciled CDR"
        verbose_name_plural = "CDR reconciliation"
        permissions = (
            ("export_cdrs", "Can export CDRs (CSV, XLSX, OCPI JSON)"),
            ("view_token_uid", "Can see token uids unmasked"),
        )


class ExportJob(models.Model):
    """A large or scheduled export, written to a file by a Celery job (finance/jobs.py).

    Who asked (none for a scheduled export), what (contents, filters, format), how far it got and
    the file once done. A file is offered until ``expires_at``; then the job is purged.
    """

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "queued"
        RUNNING = "RUNNING", "running"
        DONE = "DONE", "done"
        FAILED = "FAILED", "failed"
        EXPIRED = "EXPIRED", "expired (file deleted)"

    class Contents(models.TextChoices):
        CDRS = "cdrs", "CDRs"
        SUMMARY = "summary", "Period summary"

    class Schedule(models.TextChoices):
        NONE = "", "on request"
        DAILY = "daily", "daily (yesterday)"
        MONTHLY = "monthly", "monthly (last month)"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    schedule = models.CharField(max_length=8, choices=Schedule.choices, blank=True, default="")
    contents = models.CharField(max_length=8, choices=Contents.choices, default=Contents.CDRS)
    export_format = models.CharField("format", max_length=8)
    # ExportFilter's fields (dates as ISO strings): what the file holds.
    filters = models.JSONField(default=dict)
    date_from = models.DateField(null=True, blank=True)
    # Token uids in full: decided by the permissions of whoever asked, when they asked.
    unmask = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=255, blank=True, help_text="The download's name.")
    file_path = models.CharField(max_length=255, blank=True, help_text="Under FINANCE_EXPORT_DIR.")
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Which run holds the job: a run that lost it (a second delivery took over a stale run) writes
    # nothing more. heartbeat_at moves with the progress; a stale one lets another run take over.
    run_token = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Runs that claimed the job.")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "export job"
        ordering = ("-created_at", "-pk")
        constraints = (
            # The beat may fire twice: one scheduled export per schedule, period, contents and format.
            models.UniqueConstraint(
                fields=("schedule", "date_from", "contents", "export_format"),
                condition=~models.Q(schedule=""),
                name="exportjob_one_per_scheduled_period",
            ),
            models.CheckConstraint(
                condition=models.Q(rows_total__isnull=True) | models.Q(rows_done__lte=models.F("rows_total")),
                name="exportjob_rows_done_within_total",
            ),
        )
        indexes = (
            # export_jobs_maintain(): due purges and jobs waiting for a worker.
            models.Index(fields=("status", "expires_at"), name="exportjob_status_expiry_idx"),
        )

    def __str__(self) -> str:
        return self.file_name or f"export job {self.pk}"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED, self.Status.EXPIRED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)
