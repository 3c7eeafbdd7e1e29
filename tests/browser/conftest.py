"""Browser tests: Playwright for Python driving Debian's Chromium (headless) against a live server.

Playwright's own browsers are never downloaded: the system Chromium is launched by path
(``CHROMIUM`` overrides /usr/bin/chromium). Without it the tests skip, saying why; CI installs it
(.ci/run). Screenshots of every step are kept under ``BROWSER_ARTEFACTS`` (default
var/browser-tests/<time>/), and the folder is printed at the end of the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}


def _chromium_missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (requirements-dev.txt)"
    return None


@pytest.fixture(scope="session")
def artefacts() -> Path:
    folder = Path(
        os.environ.get("BROWSER_ARTEFACTS")
        or settings.BASE_DIR / "var" / "browser-tests" / f"{datetime.now(UTC):%Y%m%d-%H%M%S}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    _folders.append(folder)
    return folder


_folders: list[Path] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for folder in _folders:
        if any(folder.iterdir()):
            terminalreporter.write_line(f"Browser screenshots: {folder}")


@pytest.fixture(scope="module")
def browser(django_db_setup: None) -> Iterator[Any]:
    """Chromium for one module: Playwright's sync API keeps an event loop running in this thread
    while it is open, so it is closed before other modules' tests run."""
    reason = _chromium_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # With that loop running, Django refuses ORM calls from this thread; the test's own calls
    # (setting up data, checking results) are plain synchronous ones, so the guard is lifted.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
            )
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
