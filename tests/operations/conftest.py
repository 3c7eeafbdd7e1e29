"""Helpers for tests that run the portal's own commands as a developer or an operator would."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What a fresh shell on a developer's machine lacks: none of the project's settings are exported.
_PROJECT_VARIABLES = (
    "DJANGO_",
    "SECRET_KEY",
    "REDIS_URL",
    "OCPI_",
    "ALLOWED_HOSTS",
    "CELERY_",
    "PUSH_",
    "LOG_",
    "SECURE_",
    "METRICS_",
    "EMBEDDED_SCHEDULER",
)


def clean_environment(**extra: str) -> dict[str, str]:
    """The current environment without any of the project's settings, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(_PROJECT_VARIABLES)}
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A DATABASE_URL of an empty SQLite database of the test's own."""
    return f"sqlite:///{tmp_path / 'portal.sqlite3'}"
