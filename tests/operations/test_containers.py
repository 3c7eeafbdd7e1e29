"""The container recipe: compose.yaml parses and runs every process the README names, the way the
README says; the Dockerfile is multi-stage, slim Python 3.11, non-root, with static files collected.
(No Docker here: nothing is built; gunicorn checks its config file and loads the application.)"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests.operations.conftest import ROOT, clean_environment, free_port


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _readme_processes() -> dict[str, str]:
    """{process: command} from the table under "### Processes" in the README's Operations section."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    operations = readme.split("\n## Operations\n", 1)[1].split("\n## ", 1)[0]
    table = operations.split("\n### Processes\n", 1)[1].split("\n\n", 2)[1]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return {
        re.findall(r"`([^`]+)`", cells[1])[0]: cells[2].strip() for cells in (row.split("|") for row in rows)
    }


def _command(service: dict[str, Any]) -> str:
    command = service.get("command", "")
    return " ".join(command) if isinstance(command, list) else str(command)


def test_compose_runs_exactly_the_processes_the_readme_names() -> None:
    services = _compose()["services"]
    processes = _readme_processes()

    assert set(processes) == set(services)
    assert {"postgres", "redis", "web", "worker", "beat", "simulator"} <= set(services)


def test_each_process_runs_the_command_the_readme_gives() -> None:
    services = _compose()["services"]

    for name, command in _readme_processes().items():
        for word in re.findall(r"`([^`]+)`", command):
            assert word in _command(services[name]) or word in services[name].get("image", ""), (name, word)


def test_the_web_process_is_gunicorn_with_the_config_file_and_the_simulator_is_behind_a_profile() -> None:
    services = _compose()["services"]

    assert _command(services["web"]) == "gunicorn --config deploy/gunicorn.conf.py cpo_portal.wsgi"
    assert (ROOT / "deploy" / "gunicorn.conf.py").is_file()
    assert services["simulator"]["profiles"] == ["simulator"]
    assert all("profiles" not in service for name, service in services.items() if name != "simulator")
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert "pgdata" in _compose()["volumes"]


def test_the_dockerfile_builds_in_stages_on_slim_python_311_and_runs_as_a_user() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")

    assert re.findall(r"^FROM (\S+)", dockerfile, flags=re.MULTILINE) == ["python:3.11-slim"] * 2
    assert "COPY --from=build" in dockerfile
    assert "manage.py collectstatic --no-input" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, flags=re.MULTILINE)
    assert users
    assert users[-1] not in ("root", "0")
    assert "requirements.txt" in dockerfile


def test_gunicorn_accepts_the_config_file_and_loads_the_application() -> None:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    env = clean_environment(
        DJANGO_SETTINGS_MODULE="cpo_portal.settings", SECRET_KEY=secrets.token_urlsafe(50)
    )

    result = subprocess.run(  # noqa: S603
        [str(gunicorn), "--config", "deploy/gunicorn.conf.py", "--check-config", "cpo_portal.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_serves_its_collected_static_files(tmp_path: Path) -> None:
    env = clean_environment(
        DJANGO_SETTINGS_MODULE="cpo_portal.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        STATIC_ROOT=str(tmp_path / "static"),
        SERVE_STATIC_FILES="true",
        ALLOWED_HOSTS="testserver",
        SECURE_SSL_REDIRECT="false",
    )
    check = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/static/admin/css/base.css'); print(r.status_code)"
    )

    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=180,
        check=False,
    )
    served = subprocess.run(  # noqa: S603
        [sys.executable, "-c", check],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert collected.returncode == 0, collected.stderr
    assert served.stdout.strip() == "200", served.stderr
    shutil.rmtree(tmp_path / "static")


def test_the_simulator_serves_a_container_network_under_the_url_given() -> None:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "ptp_simulator",
            "serve",
            "--port",
            str(port),
            "--token",
            "compose-token",
            "--network-url",
            f"http://simulator:{port}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == f"http://simulator:{port}"
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/ocpi/versions", headers={"Authorization": "Token compose-token"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            body = response.read().decode()
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()

    assert f"http://simulator:{port}/ocpi/2.2.1" in body
