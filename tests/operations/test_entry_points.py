"""Development commands need no environment; production entry points still fail closed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.operations.conftest import ROOT, clean_environment


def _run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_manage_py_runs_database_commands_on_a_fresh_machine_without_a_secret_key(sqlite_url: str) -> None:
    env = clean_environment(DATABASE_URL=sqlite_url)

    migrated = _run("manage.py", "migrate", "--no-input", env=env)
    shown = _run(
        "manage.py",
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
        env=env,
    )

    assert migrated.returncode == 0, migrated.stderr
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == "True"


@pytest.mark.parametrize(
    "code",
    [
        "import cpo_portal.wsgi",
        "import cpo_portal.asgi",
        "from cpo_portal.celery import app; app.conf.task_serializer",
    ],
    ids=["wsgi", "asgi", "celery"],
)
def test_a_production_entry_point_refuses_to_start_without_a_secret_key(code: str) -> None:
    result = _run("-c", code, env=clean_environment())

    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set" in result.stderr


def test_manage_py_follows_an_explicit_production_settings_module() -> None:
    result = _run("manage.py", "check", env=clean_environment(DJANGO_SETTINGS_MODULE="cpo_portal.settings"))

    assert result.returncode != 0
    assert "SECRET_KEY (or SECRET_KEY_FILE) must be set" in result.stderr
