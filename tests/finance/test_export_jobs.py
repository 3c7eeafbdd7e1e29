"""Large and scheduled exports run as jobs: started from the export page or the beat schedule, written
once however often delivered, followed by a progress bar, downloaded by whom may, purged in time.

Tasks run in-process here (CELERY_TASK_ALWAYS_EAGER, as under ``make run``), after the commit;
test_export_jobs_worker.py runs them in a real worker.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from celery.schedules import crontab
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group, Permission
from django.test import Client
from django.utils import timezone

from finance import exports, jobs
from finance.exports import ExportFilter
from finance.jobs import export_job_run, export_job_start, export_jobs_maintain, scheduled_exports_start
from finance.models import ExportJob
from tests.factories import CdrFactory

pytestmark = pytest.mark.django_db

PAGE = "/admin/finance/cdrreconciliation/export-period/"
MARCH_10 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def export_dir(settings: Any, tmp_path: Path) -> Path:
    settings.FINANCE_EXPORT_DIR = str(tmp_path)
    settings.FINANCE_EXPORT_ASYNC_ROWS = 2
    return tmp_path


def cdrs(count: int, end: datetime = MARCH_10) -> list[Any]:
    return [
        CdrFactory(
            start_date_time=end - timedelta(hours=1), end_date_time=end, total_cost_incl_vat=Decimal("5.90")
        )
        for _ in range(count)
    ]


def user(name: str, *codenames: str, group: str | None = None) -> AbstractBaseUser:
    someone = get_user_model().objects.create_user(name, f"{name}@example.com", "correct horse battery")
    someone.is_staff = True
    someone.save()
    someone.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    if group:
        someone.groups.add(Group.objects.get(name=group))
    return get_user_model().objects.get(pk=someone.pk)


def client_of(someone: AbstractBaseUser) -> Client:
    client = Client()
    client.force_login(someone)
    return client


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def status_of(client: Client, url: str) -> int:
    return int(client.get(url).status_code)


MARCH = {"date_from": "2026-03-01", "date_to": "2026-03-31", "time_zone": "UTC", "credits": "all"}


def test_a_large_export_runs_as_a_job_and_offers_its_file_when_done(
    finance_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    made = cdrs(3)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = finance_client.post(PAGE, {**MARCH, "export_format": "csv"})

    job = ExportJob.objects.get()
    assert len(callbacks) == 1  # enqueued after the commit
    assert response.status_code == 302
    assert response["Location"] == f"/admin/finance/exportjob/{job.pk}/change/"
    assert (job.status, job.rows_done, job.rows_total) == (ExportJob.Status.DONE, 3, 3)
    assert job.owner is not None
    assert job.file_name == "cdrs_2026-03-01_2026-03-31_utc.csv"
    assert job.expires_at is not None
    assert job.expires_at - job.finished_at == timedelta(days=settings.FINANCE_EXPORT_RETENTION_DAYS)

    page = finance_client.get(response["Location"])
    assert page.status_code == 200
    assert f"/admin/finance/exportjob/{job.pk}/download/" in page.content.decode()
    assert b'http-equiv="refresh"' not in page.content  # finished: nothing to follow
    download = finance_client.get(f"/admin/finance/exportjob/{job.pk}/download/")
    assert download.status_code == 200
    assert 'filename="cdrs_2026-03-01_2026-03-31_utc.csv"' in download["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body_of(download).decode())))
    assert sorted(row["cdr_id"] for row in rows) == sorted(cdr.cdr_id for cdr in made)


def test_a_small_export_downloads_at_once(finance_client: Client) -> None:
    cdrs(2)
    response = finance_client.post(PAGE, {**MARCH, "export_format": "csv"})
    assert response.status_code == 200
    assert len(list(csv.DictReader(io.StringIO(body_of(response).decode())))) == 2
    assert not ExportJob.objects.exists()


def test_a_small_export_may_be_asked_for_in_the_background(
    finance_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    cdrs(1)
    with django_capture_on_commit_callbacks(execute=True):
        response = finance_client.post(PAGE, {**MARCH, "export_format": "jsonl", "background": "on"})
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert (job.status, job.rows_done) == (ExportJob.Status.DONE, 1)
    body = body_of(finance_client.get(f"/admin/finance/exportjob/{job.pk}/download/"))
    assert json.loads(body.decode().splitlines()[0])["total_cost"]["incl_vat"] == 5.9


def test_a_get_never_starts_a_job(finance_client: Client) -> None:
    cdrs(3)
    page = finance_client.get(PAGE, {**MARCH, "export_format": "csv"})
    assert page.status_code == 200
    assert "These filters select 3 CDRs, more than 2" in page.content.decode()
    assert not ExportJob.objects.exists()


def test_an_xlsx_job_reads_back(finance_client: Client, django_capture_on_commit_callbacks: Any) -> None:
    cdrs(3)
    with django_capture_on_commit_callbacks(execute=True):
        finance_client.post(PAGE, {**MARCH, "export_format": "xlsx"})
    job = ExportJob.objects.get()
    download = finance_client.get(f"/admin/finance/exportjob/{job.pk}/download/")
    sheet = openpyxl.load_workbook(io.BytesIO(body_of(download)), read_only=True)["CDRs"]
    assert len(list(sheet.values)) == 4


@pytest.mark.parametrize("export_format", ["csv", "xlsx", "jsonl"])
def test_a_job_of_many_chunks_writes_its_progress_and_finishes(
    export_format: str, monkeypatch: pytest.MonkeyPatch, export_dir: Path
) -> None:
    """Progress due after every row of chunks of two. The finding: on PostgreSQL a CSV job's progress
    write waited, forever, for the connection that the database's COPY of the lines held."""
    monkeypatch.setattr(jobs, "PROGRESS_SECONDS", 0)
    monkeypatch.setattr(exports, "CHUNK_SIZE", 2)
    cdrs(5)
    job = ExportJob.objects.create(export_format=export_format, filters={})

    export_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert (job.status, job.rows_done, job.rows_total) == (ExportJob.Status.DONE, 5, 5)
    assert (export_dir / job.file_path).stat().st_size == job.file_size > 0


def test_a_running_job_shows_its_progress_and_follows_it_with_or_without_script(
    finance_client: Client,
) -> None:
    owner = get_user_model().objects.get(username="finance")
    job = ExportJob.objects.create(
        owner=owner, export_format="csv", status=ExportJob.Status.RUNNING, rows_done=40, rows_total=160
    )

    page = finance_client.get(f"/admin/finance/exportjob/{job.pk}/change/").content.decode()
    status = finance_client.get(f"/admin/finance/exportjob/{job.pk}/status/").json()

    assert '<progress max="160" value="40">25 %</progress>' in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page
    assert "finance/export_job.js" in page
    assert f'data-status-url="/admin/finance/exportjob/{job.pk}/status/"' in page
    assert status["status"] == "RUNNING"
    assert (status["rows_done"], status["rows_total"], status["percent"], status["finished"]) == (
        40,
        160,
        25,
        False,
    )


def test_a_job_with_no_row_counted_yet_shows_a_bar_without_a_value(finance_client: Client) -> None:
    """A CSV job on PostgreSQL counts its rows when the database has written them all (one COPY
    statement): until then its bar moves without a value rather than standing at 0 %."""
    owner = get_user_model().objects.get(username="finance")
    running = ExportJob.objects.create(
        owner=owner, export_format="csv", status=ExportJob.Status.RUNNING, rows_done=0, rows_total=160
    )
    empty = ExportJob.objects.create(
        owner=owner, export_format="csv", status=ExportJob.Status.DONE, rows_done=0, rows_total=0
    )

    page = finance_client.get(f"/admin/finance/exportjob/{running.pk}/change/").content.decode()
    listed = finance_client.get("/admin/finance/exportjob/").content.decode()

    assert '<progress max="160">0 %</progress>' in page
    assert "Running: 160 rows to write." in page
    assert '<progress max="160">0 %</progress> 0 / 160' in listed
    assert '<progress max="1" value="1">100 %</progress> 0 / 0' in listed  # done, if empty
    assert empty.percent == 100


def test_a_job_delivered_twice_writes_its_file_once(
    export_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    cdrs(3)
    owner = user("clerk", group="Finance")
    with django_capture_on_commit_callbacks(execute=False):
        job = export_job_start(user=owner, contents="cdrs", export_format="csv", export_filter=ExportFilter())

    assert export_job_run(job_id=job.pk) == ExportJob.Status.DONE
    job.refresh_from_db()
    first = (job.file_path, job.finished_at)
    assert export_job_run(job_id=job.pk) == "not claimed"

    job.refresh_from_db()
    assert (job.file_path, job.finished_at) == first
    assert [path.name for path in export_dir.iterdir()] == [job.file_path]


def test_a_job_another_run_is_working_on_is_left_to_it_until_that_run_goes_silent(
    export_dir: Path,
) -> None:
    cdrs(1)
    job = ExportJob.objects.create(
        export_format="csv", status=ExportJob.Status.RUNNING, run_token="a" * 32, heartbeat_at=timezone.now()
    )
    assert export_job_run(job_id=job.pk) == "not claimed"

    ExportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert export_job_run(job_id=job.pk) == ExportJob.Status.DONE
    job.refresh_from_db()
    assert job.run_token != "a" * 32
    assert job.rows_done == 1


def test_a_failure_is_recorded_and_shown(finance_client: Client) -> None:
    job = ExportJob.objects.create(
        owner=get_user_model().objects.get(username="finance"),
        export_format="csv",
        filters={"time_zone": "Mars/Olympus_Mons"},
    )

    assert export_job_run(job_id=job.pk) == ExportJob.Status.FAILED

    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert "Mars/Olympus_Mons" in job.error
    assert job.finished_at is not None
    page = finance_client.get(f"/admin/finance/exportjob/{job.pk}/change/").content.decode()
    assert "The export failed" in page
    assert finance_client.get(f"/admin/finance/exportjob/{job.pk}/status/").json()["finished"] is True
    assert finance_client.get(f"/admin/finance/exportjob/{job.pk}/download/").status_code == 404


# -- who may do what -----------------------------------------------------------------------------------


def finished_job(owner: AbstractBaseUser | None, *, unmask: bool = False) -> ExportJob:
    cdrs(1)
    job = ExportJob.objects.create(owner=owner, export_format="csv", unmask=unmask, file_name="cdrs_all.csv")
    export_job_run(job_id=job.pk)
    return job


def test_the_owner_and_the_finance_group_download_and_others_are_refused() -> None:
    owner = user("owner", group="Finance")
    colleague = user("colleague", group="Finance")
    viewer = user("viewer", "view_exportjob", "view_cdrreconciliation")
    job = finished_job(owner)
    url = f"/admin/finance/exportjob/{job.pk}/download/"

    assert status_of(client_of(owner), url) == 200
    assert status_of(client_of(colleague), url) == 200
    assert status_of(client_of(viewer), url) == 403
    assert client_of(viewer).get(f"/admin/finance/exportjob/{job.pk}/status/").status_code == 403
    listing = client_of(viewer).get("/admin/finance/exportjob/")
    assert listing.status_code == 200
    assert "cdrs_all.csv" not in listing.content.decode()  # not theirs: not listed
    assert client_of(colleague).get("/admin/finance/exportjob/").content.decode().count("cdrs_all.csv") >= 1


def test_a_file_with_token_uids_in_full_is_only_for_its_owner_and_who_may_see_them() -> None:
    owner = user("owner", "view_token_uid", group="Finance")
    colleague = user("colleague", group="Finance")
    trusted = user("trusted", "view_token_uid", group="Finance")
    job = finished_job(owner, unmask=True)
    url = f"/admin/finance/exportjob/{job.pk}/download/"

    assert status_of(client_of(owner), url) == 200
    assert status_of(client_of(colleague), url) == 403
    assert status_of(client_of(trusted), url) == 200


def test_the_owner_gets_the_token_uids_as_their_permissions_allowed_when_they_asked(
    django_capture_on_commit_callbacks: Any,
) -> None:
    cdrs(3)
    plain, trusted = user("plain", group="Finance"), user("trusted", "view_token_uid", group="Finance")
    with django_capture_on_commit_callbacks(execute=True):
        client_of(plain).post(PAGE, {**MARCH, "export_format": "csv"})
        client_of(trusted).post(PAGE, {**MARCH, "export_format": "csv"})
    masked, full = ExportJob.objects.order_by("pk")
    assert (masked.unmask, full.unmask) == (False, True)
    uids = [
        row["token_uid"]
        for job, who in ((masked, plain), (full, trusted))
        for row in csv.DictReader(
            io.StringIO(body_of(client_of(who).get(f"/admin/finance/exportjob/{job.pk}/download/")).decode())
        )
    ]
    assert uids[0].startswith("*")
    assert not uids[3].startswith("*")


def test_a_view_only_user_cannot_start_a_job(django_capture_on_commit_callbacks: Any) -> None:
    cdrs(3)
    viewer = client_of(user("viewer", "view_cdrreconciliation", "view_exportjob", "view_cdr"))
    with django_capture_on_commit_callbacks(execute=True):
        response = viewer.post(PAGE, {**MARCH, "export_format": "csv", "background": "on"})
    assert response.status_code == 403
    assert not ExportJob.objects.exists()
    listing = viewer.get("/admin/finance/exportjob/").content.decode()
    assert "/admin/finance/exportjob/add/" not in listing


def test_nobody_adds_or_edits_a_job_in_the_admin(staff_client: Client) -> None:
    job = ExportJob.objects.create(export_format="csv")
    assert staff_client.get("/admin/finance/exportjob/add/").status_code == 403
    staff_client.post(f"/admin/finance/exportjob/{job.pk}/change/", {"status": "DONE"})
    job.refresh_from_db()
    assert job.status == ExportJob.Status.QUEUED


# -- scheduled exports and the purge ---------------------------------------------------------------------


def test_the_beat_schedule_declares_the_daily_and_monthly_exports_and_the_purge() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    daily, monthly = schedule["finance-daily-exports"], schedule["finance-monthly-exports"]
    assert daily["task"] == monthly["task"] == "finance.tasks.scheduled_exports_start"
    assert (daily["kwargs"], monthly["kwargs"]) == ({"schedule": "daily"}, {"schedule": "monthly"})
    assert isinstance(daily["schedule"], crontab)
    assert monthly["schedule"].day_of_month == {1}
    assert schedule["finance-export-jobs-maintain"]["task"] == "finance.tasks.export_jobs_maintain"


def test_the_daily_export_holds_yesterday_once_however_often_the_beat_fires(
    finance_client: Client, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.FINANCE_SCHEDULED_EXPORTS = ["cdrs:csv", "summary:xlsx"]
    yesterday = cdrs(2, end=datetime(2026, 3, 10, 23, 0, tzinfo=UTC))
    cdrs(1, end=datetime(2026, 3, 9, 12, 0, tzinfo=UTC))
    fired_at = datetime(2026, 3, 11, 1, 15, tzinfo=UTC)

    with django_capture_on_commit_callbacks(execute=True):
        started = scheduled_exports_start(schedule="daily", now=fired_at)
        again = scheduled_exports_start(schedule="daily", now=fired_at + timedelta(minutes=1))

    assert again == []
    assert ExportJob.objects.count() == 2
    listed, summary = ExportJob.objects.get(contents="cdrs"), ExportJob.objects.get(contents="summary")
    assert [job.pk for job in started] == [listed.pk, summary.pk]
    assert listed.file_name == "daily_cdrs_2026-03-10_2026-03-10_utc.csv"
    assert listed.status == summary.status == ExportJob.Status.DONE
    assert listed.owner is None
    assert listed.expires_at - listed.finished_at == timedelta(
        days=settings.FINANCE_SCHEDULED_EXPORT_RETENTION_DAYS
    )
    rows = list(
        csv.DictReader(
            io.StringIO(
                body_of(finance_client.get(f"/admin/finance/exportjob/{listed.pk}/download/")).decode()
            )
        )
    )
    assert sorted(row["cdr_id"] for row in rows) == sorted(cdr.cdr_id for cdr in yesterday)
    listing = finance_client.get("/admin/finance/exportjob/?schedule=daily").content.decode()
    assert "daily_cdrs_2026-03-10_2026-03-10_utc.csv" in listing
    assert "daily_summary_2026-03-10_2026-03-10_utc.xlsx" in listing


def test_the_monthly_export_holds_last_month_in_the_configured_time_zone(
    django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    settings.FINANCE_SCHEDULED_EXPORTS = ["cdrs:csv"]
    settings.FINANCE_SCHEDULED_EXPORT_TIME_ZONE = "Europe/Amsterdam"
    cdrs(1, end=datetime(2026, 2, 28, 23, 30, tzinfo=UTC))  # 1 March in Amsterdam
    cdrs(1, end=datetime(2026, 2, 15, 12, 0, tzinfo=UTC))

    with django_capture_on_commit_callbacks(execute=True):
        (job,) = scheduled_exports_start(schedule="monthly", now=datetime(2026, 3, 1, 1, 45, tzinfo=UTC))

    job.refresh_from_db()
    assert job.filters["date_from"] == "2026-02-01"
    assert job.filters["date_to"] == "2026-02-28"
    assert job.rows_done == 1


def test_files_past_their_time_are_purged_and_the_job_stays(finance_client: Client, export_dir: Path) -> None:
    owner = get_user_model().objects.get(username="finance")
    job = finished_job(owner)
    job.refresh_from_db()
    assert (export_dir / job.file_path).exists()

    assert export_jobs_maintain(now=job.expires_at - timedelta(seconds=1))["purged"] == 0
    assert export_jobs_maintain(now=job.expires_at)["purged"] == 1

    job.refresh_from_db()
    assert job.status == ExportJob.Status.EXPIRED
    assert list(export_dir.iterdir()) == []
    assert finance_client.get(f"/admin/finance/exportjob/{job.pk}/download/").status_code == 404
    assert (
        "deleted when its time was up"
        in finance_client.get(f"/admin/finance/exportjob/{job.pk}/change/").content.decode()
    )


def test_a_job_no_worker_took_is_enqueued_again() -> None:
    cdrs(1)
    job = ExportJob.objects.create(export_format="csv", created_at=timezone.now() - timedelta(minutes=5))
    fresh = ExportJob.objects.create(export_format="csv")

    assert export_jobs_maintain()["requeued"] == 1

    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.status == ExportJob.Status.DONE  # run in process, as without a broker
    assert fresh.status == ExportJob.Status.QUEUED


def test_a_job_whose_runs_keep_dying_fails_instead_of_starting_again(export_dir: Path) -> None:
    long_ago = timezone.now() - timedelta(hours=1)
    dead = ExportJob.objects.create(
        export_format="csv", status=ExportJob.Status.RUNNING, heartbeat_at=long_ago, attempts=3
    )
    leftover = export_dir / f"{dead.pk}-{'b' * 32}.csv.part"
    leftover.write_text("cdr_id\n")
    os.utime(leftover, (long_ago.timestamp(), long_ago.timestamp()))

    assert export_job_run(job_id=dead.pk) == "not claimed"
    outcome = export_jobs_maintain()

    dead.refresh_from_db()
    assert outcome == {"purged": 0, "requeued": 0, "given_up": 1}
    assert dead.status == ExportJob.Status.FAILED
    assert "stopped 3 times" in dead.error
    assert not leftover.exists()
