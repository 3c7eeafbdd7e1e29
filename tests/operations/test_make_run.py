"""`make run PORT=... HOST=...` serves there, and the links it prints and hands to partners follow."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from threading import Thread

import pytest

from ocpi_api.transport.tokens import authorization_header
from tests.operations.conftest import ROOT, clean_environment, free_port


@dataclass
class Served:
    port: int
    env: dict[str, str]
    output: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url(path), headers=headers or {})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()


def _wait_until_answering(served: Served, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert process.poll() is None, "make run stopped:\n" + "".join(served.output)
        try:
            if served.get("/admin/login/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError("make run never answered:\n" + "".join(served.output))


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`make run` on a free port with a fresh SQLite database, as a developer starts it."""
    sqlite_url = f"sqlite:///{tmp_path_factory.mktemp('make_run') / 'portal.sqlite3'}"
    make = shutil.which("make")
    assert make, "make is needed to run the documented commands"
    port = free_port()
    env = clean_environment(DATABASE_URL=sqlite_url, PYTHONUNBUFFERED="1")
    served = Served(port=port, env=env)
    # -o: the virtualenv is in place already; do not reinstall the requirements into it.
    stamp = Path(sys.executable).parent.parent / ".installed"
    process = subprocess.Popen(  # noqa: S603
        [make, "-o", str(stamp), "-o", ".venv/.installed", "run", f"PORT={port}", "HOST=127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    reader = Thread(target=lambda: served.output.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        _wait_until_answering(served, process)
        yield served
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # On a loaded machine make may outlive the 30 s while waiting for its children.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        reader.join(timeout=10)
        process.stdout.close()


def test_make_run_serves_on_the_port_given_and_prints_the_real_login_link(make_run: Served) -> None:
    output = "".join(make_run.output)

    assert f"Demo admin: http://127.0.0.1:{make_run.port}/admin/ user admin password" in output
    assert f"OCPI versions endpoint for partners: http://127.0.0.1:{make_run.port}/ocpi/versions" in output


def test_make_run_hands_partners_ocpi_urls_on_the_port_given(make_run: Served) -> None:
    created = subprocess.run(
        [sys.executable, "manage.py", "ocpi_partner_create", "--name", "Port check"],
        cwd=ROOT,
        env=make_run.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    token_a = next(line.split()[-1] for line in created.stdout.splitlines() if line.startswith("Token A:"))

    status, body = make_run.get("/ocpi/versions", {"Authorization": authorization_header(token_a)})

    assert status == 200, body
    assert f"http://127.0.0.1:{make_run.port}/ocpi/2.2.1".encode() in body
    assert b":8000/" not in body


def test_make_run_runs_the_periodic_jobs_in_process_and_is_ready(make_run: Served) -> None:
    deadline = time.monotonic() + 60
    while True:
        status, body = make_run.get("/readyz")
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)

    assert status == 200, body
    assert json.loads(body)["checks"] == {
        "database": "ok",
        "redis": "not configured",
        "migrations": "ok",
        "scheduler": "ok",
    }
    assert make_run.get("/healthz")[0] == 200
