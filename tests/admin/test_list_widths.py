"""Every admin list, and the page of one object per model, fits a 1440 px window: measured in
headless Chromium (Debian's, driven by Playwright) against a live server with the demo data and a
day of partner traffic. Skips, saying why, where Chromium or Playwright is missing."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.staticfiles.handlers import StaticFilesHandler as _StaticFilesHandler
from django.core.management import call_command
from django.test.testcases import LiveServerThread
from django.urls import reverse

from tests.admin.widths import CONTENT_WIDTH_JS, partner_traffic
from tests.chromium import chromium_browser

WINDOW = 1440
PASSWORD = "widths-correct-horse"


@pytest.fixture
def chromium() -> Iterator[object]:
    with chromium_browser() as browser:
        yield browser


@pytest.fixture
def server(transactional_db: None, settings: Any) -> Iterator[str]:
    """A live server (with the static files: the width depends on the admin's CSS) for this test
    alone, stopped here with its database connections."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    thread = LiveServerThread("127.0.0.1", _StaticFilesHandler)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()


@pytest.fixture
def pages(transactional_db: None) -> list[str]:
    """The demo data, a day of partner traffic and a superuser, and the pages to measure: every
    list, the page of one object per model, the index. Made before the browser starts: once
    Playwright's event loop runs in this thread, database work here would use a connection that
    the suite does not close."""
    call_command("seed_demo", stdout=StringIO())
    partner_traffic()
    get_user_model().objects.create_superuser("widths", "widths@example.com", PASSWORD)
    paths = []
    for model in admin.site._registry:
        name = f"{model._meta.app_label}_{model._meta.model_name}"
        paths.append(reverse(f"admin:{name}_changelist"))
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            paths.append(reverse(f"admin:{name}_change", args=[obj.pk]))
    paths.append(reverse("admin:index"))
    return paths


def test_every_list_and_object_page_fits_a_1440_px_window(
    server: str, pages: list[str], chromium: object
) -> None:
    page = chromium.new_page(viewport={"width": WINDOW, "height": 900})  # type: ignore[attr-defined]
    page.goto(f"{server}/admin/login/")
    page.fill("#id_username", "widths")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{server}/admin/")
    too_wide = {}
    for path in pages:
        response = page.goto(server + path)
        assert response is not None
        assert response.status == 200, path
        width = page.evaluate(CONTENT_WIDTH_JS)
        if width > WINDOW:
            too_wide[path] = width

    assert too_wide == {}
