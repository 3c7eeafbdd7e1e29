"""Export jobs in a real Celery worker (a separate process, Redis as broker): the job is written by
the worker after the commit, and a job delivered more than once is written once."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import connection

from cpo_portal.celery import app as celery_app
from finance.exports import ExportFilter
from finance.jobs import RUN_TASK, export_job_start
from finance.models import ExportJob
from tests.factories import CdrFactory
from tests.pushes.test_real_worker import Worker, running_worker, wait_for

pytestmark = [
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL (a real Redis)"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a worker process needs PostgreSQL"),
]


@pytest.fixture
def export_worker(
    transactional_db: None, django_db_setup: None, tmp_path: Path, settings: Any
) -> Iterator[Worker]:
    settings.FINANCE_EXPORT_DIR = str(tmp_path)
    yield from running_worker({"FINANCE_EXPORT_DIR": str(tmp_path)})


def clerk() -> Any:
    user = get_user_model().objects.create_user("clerk", "clerk@example.com", "correct horse battery")
    user.is_staff = True
    user.save()
    # A transactional test's flush removed the migration's Finance group: the permission itself.
    user.user_permissions.add(Permission.objects.get(codename="export_cdrs"))
    return get_user_model().objects.get(pk=user.pk)


def seed(count: int) -> list[str]:
    end = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    return [
        CdrFactory(start_date_time=end - timedelta(hours=1), end_date_time=end).cdr_id for _ in range(count)
    ]


def status(job: ExportJob) -> str:
    return ExportJob.objects.get(pk=job.pk).status


def test_a_worker_writes_the_job_after_the_commit(export_worker: Worker, tmp_path: Path) -> None:
    made = seed(5)

    job = export_job_start(user=clerk(), contents="cdrs", export_format="csv", export_filter=ExportFilter())

    wait_for(lambda: status(job) == ExportJob.Status.DONE, "the job done", export_worker, timeout=120)
    job.refresh_from_db()
    assert (job.rows_done, job.rows_total) == (5, 5)
    rows = list(csv.DictReader(io.StringIO((tmp_path / job.file_path).read_text())))
    assert sorted(row["cdr_id"] for row in rows) == sorted(made)


def test_a_job_delivered_three_times_is_written_once(export_worker: Worker, tmp_path: Path) -> None:
    seed(3)
    job = export_job_start(
        user=clerk(), contents="summary", export_format="xlsx", export_filter=ExportFilter()
    )
    task = celery_app.tasks[RUN_TASK]
    task.delay(job.pk)
    task.delay(job.pk)

    wait_for(lambda: status(job) == ExportJob.Status.DONE, "the job done", export_worker, timeout=120)
    # The other deliveries found the job taken (or done) and wrote nothing: wait for the worker
    # to have received all three, then look at the folder.
    wait_for(
        lambda: export_worker.log_text().count("finance.tasks.export_job_run") >= 6,
        "three deliveries received and finished",
        export_worker,
        timeout=60,
    )
    job.refresh_from_db()
    assert [path.name for path in tmp_path.iterdir()] == [job.file_path]
