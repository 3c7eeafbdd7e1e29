"""An export job's page in a real browser: its script follows the job from "nothing counted yet" (a
CSV the database is writing in one statement) to a count, to the download."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from finance.models import ExportJob

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery"


def test_the_job_page_follows_the_count_and_shows_the_download(
    browser: Any, live_server: Any, artefacts: Path, tmp_path: Path, settings: Any
) -> None:
    settings.FINANCE_EXPORT_DIR = str(tmp_path)
    clerk = get_user_model().objects.create_user("clerk", "clerk@example.com", PASSWORD, is_staff=True)
    # Permissions of its own: a transactional test empties the tables, the Finance group with them.
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="finance", codename__in=("view_exportjob", "export_cdrs")
        )
    )
    job = ExportJob.objects.create(
        owner=clerk, export_format="csv", status=ExportJob.Status.RUNNING, rows_done=0, rows_total=160
    )
    page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
    page.goto(live_server.url + reverse("admin:login"))
    page.fill("#id_username", "clerk")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#user-tools")

    page.goto(live_server.url + reverse("admin:finance_exportjob_change", args=[job.pk]))
    bar = page.locator("#export-job-progress progress")
    page.wait_for_timeout(1500)  # a poll has answered: still nothing counted
    assert bar.get_attribute("value") is None
    assert "Running: 160 rows to write." in page.inner_text("#export-job-progress")
    page.screenshot(path=str(artefacts / "export-job-0-nothing-counted.png"))

    ExportJob.objects.filter(pk=job.pk).update(rows_done=40)
    page.wait_for_function("document.querySelector('#export-job-progress progress').value === 40")
    assert "Running: 40 of 160 rows." in page.inner_text("#export-job-progress")
    page.screenshot(path=str(artefacts / "export-job-1-counted.png"))

    (tmp_path / "job.csv").write_bytes(b"cdr_id\r\n")
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.DONE, rows_done=160, file_path="job.csv", file_name="job.csv", file_size=8
    )
    page.wait_for_selector("text=Download job.csv")  # the page reloaded itself when the job finished
    page.screenshot(path=str(artefacts / "export-job-2-done.png"))
