"""Export jobs: large and scheduled exports written to a file by a Celery task, with their progress.

A job is claimed with a conditional UPDATE (QUEUED, or RUNNING with a stale heartbeat, to RUNNING
with a new run token) and every later write checks the token, so a job delivered twice (acks_late,
a redelivery after a worker died) is written by one run only; the file is written under a name of
its own and renamed into place when complete. The rows come from finance/exports.py (CDRs) and
finance/summaries.py (period summaries), written row by row to the file: constant memory.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from cpo_portal.celery import app as celery_app
from cpo_portal.enqueue import enqueue_on_commit, enqueue_safely
from finance.exports import (
    EXPORT_PERMISSION,
    UNMASK_PERMISSION,
    ExportFilter,
    Format,
    csv_body,
    export_rows,
    filename,
    filtered_cdrs,
    ocpi_json_lines,
    write_xlsx,
)
from finance.models import ExportJob
from finance.summaries import period_summary, summary_csv_lines, write_summary_xlsx

logger = logging.getLogger(__name__)

# A running job writes its heartbeat with its progress (at most every PROGRESS_SECONDS); a run
# silent for this long is taken to be dead (a killed worker) and another run may take the job over.
STALE_SECONDS = 600
PROGRESS_SECONDS = 1.0
# A queued job no worker took within this long is enqueued again (the broker was down at commit).
QUEUED_GRACE_SECONDS = 120
# A job whose runs died this many times (killed at the hard time limit, out of memory) fails
# instead of being taken over again and again.
MAX_ATTEMPTS = 3

SUMMARY_FORMATS = (Format.CSV, Format.XLSX)
RUN_TASK = "finance.tasks.export_job_run"


class JobLost(Exception):
    """Another run took the job over: this one stops writing."""


def _filters_to_json(export_filter: ExportFilter) -> dict[str, Any]:
    values = asdict(export_filter)
    for name in ("date_from", "date_to"):
        values[name] = values[name].isoformat() if values[name] else None
    return values


def export_filter_of(job: ExportJob) -> ExportFilter:
    values = dict(job.filters)
    for name in ("date_from", "date_to"):
        values[name] = date.fromisoformat(values[name]) if values.get(name) else None
    return ExportFilter(**values)


def export_file_name(*, contents: str, export_filter: ExportFilter, export_format: str) -> str:
    name = filename(stem=export_filter.describe(), export_format=export_format)
    return name if contents == ExportJob.Contents.CDRS else name.replace("cdrs_", "summary_", 1)


def _validate(contents: str, export_format: str) -> None:
    if contents == ExportJob.Contents.SUMMARY and export_format not in SUMMARY_FORMATS:
        raise ValueError("A period summary is written as CSV or XLSX.")
    if contents == ExportJob.Contents.CDRS and export_format not in Format.content_types:
        raise ValueError(f"Unknown export format {export_format!r}.")


def _enqueue(job_id: int, *, on_commit: bool = True) -> None:
    # Looked up by name (finance.apps registers the tasks): finance.tasks imports this module, and
    # this module does not import it back.
    task = celery_app.tasks[RUN_TASK]
    if on_commit:
        enqueue_on_commit("finance export", lambda: task.delay(job_id))
    else:
        enqueue_safely("finance export", lambda: task.delay(job_id))


@transaction.atomic
def export_job_start(
    *, user: Any, contents: str, export_format: str, export_filter: ExportFilter
) -> ExportJob:
    """Record an export for ``user`` and run it after commit; token uids in full only if they may."""
    _validate(contents, export_format)
    job = ExportJob.objects.create(
        owner=user,
        contents=contents,
        export_format=export_format,
        filters=_filters_to_json(export_filter),
        date_from=export_filter.date_from,
        unmask=user.has_perm(UNMASK_PERMISSION),
        file_name=export_file_name(
            contents=contents, export_filter=export_filter, export_format=export_format
        ),
    )
    _enqueue(job.pk)
    return job


def last_period(*, schedule: str, today: date) -> tuple[date, date]:
    """Yesterday (daily) or last month (monthly), as of ``today``."""
    if schedule == ExportJob.Schedule.DAILY:
        yesterday = today - timedelta(days=1)
        return yesterday, yesterday
    if schedule == ExportJob.Schedule.MONTHLY:
        last_day = today.replace(day=1) - timedelta(days=1)
        return last_day.replace(day=1), last_day
    raise ValueError(f"Unknown schedule {schedule!r}.")


def _scheduled_kinds() -> list[tuple[str, str]]:
    kinds = []
    for entry in settings.FINANCE_SCHEDULED_EXPORTS:
        contents, _, export_format = entry.partition(":")
        _validate(contents, export_format)
        kinds.append((contents, export_format))
    return kinds


def scheduled_exports_start(*, schedule: str, now: datetime | None = None) -> list[ExportJob]:
    """The scheduled exports of the last complete day or month (FINANCE_SCHEDULED_EXPORTS, days in
    FINANCE_SCHEDULED_EXPORT_TIME_ZONE). Once per period: a second call finds them and starts none."""
    zone_name = settings.FINANCE_SCHEDULED_EXPORT_TIME_ZONE
    today = (now or timezone.now()).astimezone(ZoneInfo(zone_name)).date()
    date_from, date_to = last_period(schedule=schedule, today=today)
    export_filter = ExportFilter(date_from=date_from, date_to=date_to, time_zone=zone_name)
    started = []
    for contents, export_format in _scheduled_kinds():
        name = export_file_name(contents=contents, export_filter=export_filter, export_format=export_format)
        try:
            # The unique constraint (schedule, date_from, contents, format) decides, not a lookup
            # first: two beats firing together create one job.
            with transaction.atomic():
                job = ExportJob.objects.create(
                    schedule=schedule,
                    contents=contents,
                    export_format=export_format,
                    filters=_filters_to_json(export_filter),
                    date_from=date_from,
                    file_name=f"{schedule}_{name}",
                )
                _enqueue(job.pk)
        except IntegrityError:
            continue
        started.append(job)
    return started


# -- running a job ------------------------------------------------------------------------------------


def _directory() -> Path:
    directory = Path(settings.FINANCE_EXPORT_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def export_job_path(job: ExportJob) -> Path | None:
    """Where the job's file is, if it has one."""
    return Path(settings.FINANCE_EXPORT_DIR) / job.file_path if job.file_path else None


class _Progress:
    """Counts rows as they pass and writes the count (and the heartbeat) now and then."""

    def __init__(self, job_id: int, token: str, total: int) -> None:
        self.job_id, self.token, self.total = job_id, token, total
        self.done = 0
        self._written_at = time.monotonic()

    def save(self, **fields: Any) -> None:
        now = timezone.now()
        updated = ExportJob.objects.filter(pk=self.job_id, run_token=self.token).update(
            rows_done=self.done, rows_total=max(self.total, self.done), heartbeat_at=now, **fields
        )
        if not updated:
            raise JobLost

    def tick(self) -> None:
        self.done += 1
        clock = time.monotonic()
        if clock - self._written_at >= PROGRESS_SECONDS:
            self._written_at = clock
            self.save()

    def counted(self, rows: Iterable[Any]) -> Iterator[Any]:
        for row in rows:
            yield row
            self.tick()

    def count(self, rows: int) -> None:
        """Rows passed while the connection is busy: counted, written with the next save()."""
        self.done += rows


def _write(job: ExportJob, target: IO[bytes], start_progress: Callable[[int], _Progress]) -> _Progress:
    export_filter = export_filter_of(job)
    if job.contents == ExportJob.Contents.SUMMARY:
        rows = period_summary(export_filter)
        progress = start_progress(len(rows))
        if job.export_format == Format.XLSX:
            write_summary_xlsx(rows, target)
        else:
            for line in summary_csv_lines(rows):
                target.write(line.encode())
        progress.done = len(rows)
        return progress
    queryset = filtered_cdrs(export_filter)
    progress = start_progress(queryset.count())
    if job.export_format == Format.CSV:
        # On PostgreSQL the database writes the lines in one COPY statement, which holds the
        # connection until its last row: a progress write in between would wait for it forever. The
        # count is written when the file is (at about 50,000 rows/s, benchmarks/export_cdrs.py).
        for block in csv_body(queryset, unmask=job.unmask, on_rows=progress.count):
            target.write(block)
    elif job.export_format == Format.XLSX:
        write_xlsx(progress.counted(export_rows(queryset, unmask=job.unmask)), target)
    else:
        for line in progress.counted(ocpi_json_lines(queryset, unmask=job.unmask)):
            target.write(line.encode())
    return progress


def _claim(job_id: int) -> str | None:
    token = uuid.uuid4().hex
    now = timezone.now()
    # A conditional UPDATE, its row count checked: of two runs of one job, one gets it.
    claimable = Q(status=ExportJob.Status.QUEUED) | Q(
        status=ExportJob.Status.RUNNING,
        heartbeat_at__lt=now - timedelta(seconds=STALE_SECONDS),
        attempts__lt=MAX_ATTEMPTS,
    )
    claimed = (
        ExportJob.objects.filter(claimable, pk=job_id)
        .update(status=ExportJob.Status.RUNNING, run_token=token, started_at=now, heartbeat_at=now,
                rows_done=0, error="", attempts=F("attempts") + 1)
    )  # fmt: skip
    return token if claimed else None


def _retention(job: ExportJob) -> timedelta:
    if job.schedule:
        return timedelta(days=settings.FINANCE_SCHEDULED_EXPORT_RETENTION_DAYS)
    return timedelta(days=settings.FINANCE_EXPORT_RETENTION_DAYS)


def export_job_run(*, job_id: int) -> str:
    """Write the job's file, unless it is done, failed, or another run holds it. Returns the status."""
    token = _claim(job_id)
    if token is None:
        return "not claimed"
    job = ExportJob.objects.get(pk=job_id)
    directory = _directory()
    final_name = f"{job.pk}-{token}.{job.export_format}"
    partial = directory / f"{final_name}.part"
    try:
        with partial.open("wb") as target:

            def start(total: int) -> _Progress:
                progress = _Progress(job_id, token, total)
                progress.save()
                return progress

            progress = _write(job, target, start)
        os.replace(partial, directory / final_name)
        now = timezone.now()
        progress.save(
            status=ExportJob.Status.DONE,
            file_path=final_name,
            file_size=(directory / final_name).stat().st_size,
            finished_at=now,
            expires_at=now + _retention(job),
        )
    except JobLost:
        logger.info("Export job %s was taken over by another run; this one stops", job_id)
        _remove(partial, directory / final_name)
        return "lost"
    except Exception as error:
        logger.exception("Export job %s failed", job_id)
        _remove(partial, directory / final_name)
        now = timezone.now()
        ExportJob.objects.filter(pk=job_id, run_token=token).update(
            status=ExportJob.Status.FAILED,
            error=f"{type(error).__name__}: {error}"[:2000],
            finished_at=now,
            expires_at=now + _retention(job),
        )
        return ExportJob.Status.FAILED
    return ExportJob.Status.DONE


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def export_jobs_maintain(*, now: datetime | None = None) -> dict[str, int]:
    """Delete the files of jobs past their time (the job stays, EXPIRED), enqueue again jobs that
    no worker took (the broker was down) or whose run died, and fail those that died too often."""
    now = now or timezone.now()
    purged = 0
    expired = ExportJob.objects.filter(
        status__in=(ExportJob.Status.DONE, ExportJob.Status.FAILED), expires_at__lte=now
    )
    for job in expired.only("pk", "file_path").iterator():
        # Only the run whose UPDATE changed the status removes the file: two purges do not race.
        if expired.filter(pk=job.pk).update(status=ExportJob.Status.EXPIRED, file_path="", file_size=None):
            path = export_job_path(job)
            if path is not None:
                path.unlink(missing_ok=True)
            purged += 1
    stale = now - timedelta(seconds=STALE_SECONDS)
    # Half-written files of runs that died (a finished run renamed or removed its own).
    directory = Path(settings.FINANCE_EXPORT_DIR)
    if directory.is_dir():
        for partial in directory.glob("*.part"):
            if partial.stat().st_mtime < stale.timestamp():
                partial.unlink(missing_ok=True)
    # Runs that died MAX_ATTEMPTS times: recorded as failed rather than started once more.
    given_up = ExportJob.objects.filter(
        status=ExportJob.Status.RUNNING, heartbeat_at__lt=stale, attempts__gte=MAX_ATTEMPTS
    ).update(
        status=ExportJob.Status.FAILED,
        error=f"The worker running this export stopped {MAX_ATTEMPTS} times (time limit or memory).",
        finished_at=now,
        expires_at=now + timedelta(days=settings.FINANCE_EXPORT_RETENTION_DAYS),
    )
    waiting = ExportJob.objects.filter(
        Q(status=ExportJob.Status.QUEUED, created_at__lt=now - timedelta(seconds=QUEUED_GRACE_SECONDS))
        | Q(status=ExportJob.Status.RUNNING, heartbeat_at__lt=stale)
    ).values_list("pk", flat=True)
    requeued = 0
    for job_id in waiting:
        _enqueue(job_id, on_commit=False)
        requeued += 1
    return {"purged": purged, "requeued": requeued, "given_up": given_up}


def export_job_may_download(job: ExportJob, user: Any) -> bool:
    """Its owner, or someone who may export; a file with token uids in full only to its owner or
    to those who may see them."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    if job.owner_id is not None and job.owner_id == user.pk:
        return True
    if not user.has_perm(EXPORT_PERMISSION):
        return False
    return not job.unmask or user.has_perm(UNMASK_PERMISSION)


def export_job_status(job: ExportJob) -> dict[str, Any]:
    """What the progress page polls."""
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": job.get_status_display(),
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": job.percent,
        "finished": job.finished,
        "error": job.error,
        "file_name": job.file_name,
        "file_size": job.file_size,
    }
