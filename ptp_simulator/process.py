"""Run the simulator as a real subprocess on loopback, for tests and fixtures.

    with SimulatorProcess(token_a="A", tokens=["T"]) as sim:
        httpx.get(sim.versions_url, headers={"Authorization": encode_token("T")})
        sim.control.fault("/ocpi/2.2.1/sessions", "http_500", count=1)

The process listens on a free port (``--port 0``) and reports its base URL on stdout; every wait
here is bounded.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

PACKAGE_PARENT = Path(__file__).resolve().parent.parent


class SimulatorError(RuntimeError):
    """The simulator process did not start, or a control call failed."""


class ControlClient:
    """A tiny client for the ``/_sim/`` control API of one simulator."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(base_url=self.base_url + "/_sim", timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        check: bool = True,
        timeout: float | None = None,
    ) -> Any:
        response = self._http.request(
            method, path, json=json, params=params, timeout=timeout if timeout is not None else self.timeout
        )
        if check and response.status_code >= 400:
            raise SimulatorError(f"{method} /_sim{path}: HTTP {response.status_code}: {response.text}")
        return response.json()

    def health(self) -> dict[str, Any]:
        return self.call("GET", "/health")

    def state(self) -> dict[str, Any]:
        return self.call("GET", "/state")

    def reset(self, *, keep_credentials: bool = False) -> None:
        self.call("POST", "/reset", json={"keep_credentials": keep_credentials})

    def received(self, module: str | None = None, key: str | None = None) -> dict[str, Any]:
        params = {k: v for k, v in (("module", module), ("key", key)) if v is not None}
        return self.call("GET", "/received", params=params)

    def requests(self) -> list[dict[str, Any]]:
        return self.call("GET", "/requests")

    def outbound(self) -> list[dict[str, Any]]:
        return self.call("GET", "/outbound")

    def config(self, **changes: Any) -> dict[str, Any]:
        return self.call("POST", "/config", json=changes)

    def add_tokens(self, *tokens: str, token_a: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"tokens": list(tokens)}
        if token_a is not None:
            body["token_a"] = token_a
        return self.call("POST", "/tokens", json=body)

    def fault(
        self,
        prefix: str = "",
        mode: str = "http_500",
        *,
        count: int | None = None,
        seconds: float = 0.0,
        ok_count: int = 0,
        fail_mode: str = "http_500",
    ) -> dict[str, Any]:
        """Inject a fault on paths starting with ``prefix`` ("" is every OCPI path)."""
        return self.call(
            "POST",
            "/faults",
            json={
                "prefix": prefix,
                "mode": mode,
                "count": count,
                "seconds": seconds,
                "ok_count": ok_count,
                "fail_mode": fail_mode,
            },
        )

    def clear_faults(self, prefix: str | None = None) -> None:
        self.call("DELETE", "/faults", params={"prefix": prefix} if prefix is not None else None)

    def create_terminals(self, count: int = 1, **options: Any) -> list[dict[str, Any]]:
        return self.call("POST", "/terminals", json={"count": count, **options})

    def action(self, name: str, **body: Any) -> Any:
        """Trigger client behaviour: register, connect, update-credentials, unregister, crawl, get,
        command, fac, terminal, transaction (see the README of the package)."""
        # An action may wait on the CPO (command results, a whole transaction, a long crawl):
        # give the control call room beyond the action's own bound.
        waits = [body.get("wait"), body.get("max_seconds")]
        if name == "transaction":
            waits.append(body.get("timeout", 30))
        if name == "crawl":
            modules = body.get("modules") or ([body["module"]] if body.get("module") else [None] * 4)
            waits.append(float(body.get("max_seconds", 120)) * len(modules))
        longest = max((float(w) for w in waits if w is not None), default=0.0)
        return self.call("POST", f"/actions/{name}", json=body, timeout=max(self.timeout, longest + 15))

    def command(self, command: str, *, wait: float = 0.0, **fields: Any) -> dict[str, Any]:
        return self.action("command", command=command, wait=wait, **fields)

    def wait_for_command_result(self, command_id: str, timeout: float = 10.0) -> dict[str, Any]:
        return self.call(
            "GET",
            f"/commands/{command_id}",
            params={"wait": timeout},
            timeout=max(self.timeout, timeout + 15),
        )


class SimulatorProcess:
    """Start ``python -m ptp_simulator serve`` on a free loopback port; stop it on exit."""

    def __init__(
        self,
        *,
        token_a: str | None = None,
        tokens: Iterable[str] = (),
        extra_args: Iterable[str] = (),
        startup_timeout: float = 15.0,
        python: str = sys.executable,
    ) -> None:
        self.token_a = token_a
        self.tokens = list(tokens)
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.python = python
        self.base_url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as the process)
        self._control: ControlClient | None = None
        self._reader: threading.Thread | None = None

    @property
    def versions_url(self) -> str:
        return self.base_url + "/ocpi/versions"

    @property
    def pid(self) -> int | None:
        """The simulator's process id while it runs (the push benchmark counts its CPU time)."""
        return self._process.pid if self._process is not None else None

    @property
    def control(self) -> ControlClient:
        if self._control is None:
            raise SimulatorError("simulator not started")
        return self._control

    def start(self) -> SimulatorProcess:
        command = [self.python, "-m", "ptp_simulator", "serve", "--host", "127.0.0.1", "--port", "0"]
        if self.token_a:
            command += [f"--token-a={self.token_a}"]  # "=": a token may begin with "-"
        for token in self.tokens:
            command += [f"--token={token}"]
        command += self.extra_args
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_PARENT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and module, no shell)
            command,
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=str(PACKAGE_PARENT),
        )
        first_line: queue.Queue[bytes] = queue.Queue(maxsize=1)
        stdout = self._process.stdout

        def read_stdout() -> None:
            # Read the base URL line, then keep draining so the child never blocks on a full pipe.
            if stdout is None:
                return
            line = stdout.readline()
            first_line.put(line)
            for _ in iter(lambda: stdout.read(4096), b""):
                pass

        self._reader = threading.Thread(target=read_stdout, name="ptp-simulator-stdout", daemon=True)
        self._reader.start()
        try:
            line = first_line.get(timeout=self.startup_timeout)
        except queue.Empty as exc:
            raise self._failed(f"no base URL within {self.startup_timeout} s") from exc
        self.base_url = line.decode("utf-8").strip()
        if not self.base_url.startswith("http://"):
            raise self._failed(f"unexpected first line {line!r}")
        self._control = ControlClient(self.base_url)
        self._wait_ready()
        if self.token_a is None:
            self.token_a = self.control.health().get("token_a")
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                if self.control.health().get("ok"):
                    return
            except (httpx.HTTPError, SimulatorError):
                pass
            if time.monotonic() > deadline or (
                self._process is not None and self._process.poll() is not None
            ):
                raise self._failed("simulator not ready")
            time.sleep(0.05)

    def _failed(self, reason: str) -> SimulatorError:
        # __exit__ does not run when __enter__ raises, so release everything here.
        self.stop()
        error = SimulatorError(f"{reason}; log:\n{self.log_text()}")
        self._log.close()
        return error

    def stop(self, timeout: float = 5.0) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
        # The reader ends at EOF once the process is gone; close the pipe only after it has.
        if self._reader is not None:
            self._reader.join(timeout=timeout)
            self._reader = None
        if process.stdout is not None:
            process.stdout.close()

    def log_text(self) -> str:
        """The simulator's stderr so far (useful in a failing test's message)."""
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", errors="replace")

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self._log.close()
