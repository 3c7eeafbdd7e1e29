"""Browser tests: Playwright for Python driving Debian's Chromium (headless) against a live server.

Playwright's own browsers are never downloaded: the system Chromium is launched by path
(``CHROMIUM`` overrides /usr/bin/chromium). Without it the tests skip, saying why; CI installs it
(.ci/run). Screenshots of every step are kept under ``BROWSER_ARTEFACTS`` (default
var/browser-tests/<time>/), and the folder is printed at the end of the run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.chromium import chromium_browser

VIEWPORT = {"width": 1440, "height": 900}


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
    with chromium_browser() as launched:
        yield launched
