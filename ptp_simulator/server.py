"""The simulator's HTTP side: a threaded server that reads each request, applies injected faults,
logs it and hands it to the OCPI routing (``ptp_simulator.routing``) or the ``/_sim/`` control API
(``ptp_simulator.control``).

Built on ``http.server.ThreadingHTTPServer`` so it needs nothing beyond the standard library and
``httpx`` (for the calls back to the CPO during a handshake).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ptp_simulator.answers import Answer, ocpi_answer
from ptp_simulator.client import CpoClient, OcpiClientError
from ptp_simulator.control import route_control
from ptp_simulator.ocpi import (
    CLIENT_ERROR,
    JSON_CONTENT_TYPE,
    SERVER_ERROR,
    dumps,
    format_datetime,
    loads,
    now_utc,
)
from ptp_simulator.routing import route_ocpi
from ptp_simulator.state import SimState, new_id

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_SLOW_SECONDS = 300.0


class SimServer(ThreadingHTTPServer):
    """A threaded HTTP server carrying the simulator's state and client."""

    daemon_threads = True
    allow_reuse_address = True
    # The listen backlog (socketserver's default is 5): a CPO pushing from several workers, each
    # with a batch of concurrent calls, opens dozens of connections at once, as Payter's own
    # servers accept; a short backlog would drop them into connect timeouts.
    request_queue_size = 256

    def __init__(self, host: str, port: int, state: SimState, *, verbose: bool = False) -> None:
        super().__init__((host, port), SimHandler)
        self.state = state
        self.client = CpoClient(state)
        self.verbose = verbose
        state.base_url = f"http://{host}:{self.server_port}"
        self._stop_polling = threading.Event()
        self._poller = threading.Thread(target=self._poll_loop, name="ptp-poller", daemon=True)
        self._poller.start()

    def _poll_loop(self) -> None:
        """Crawl the CPO's lists every ``poll_interval`` seconds, as Payter polls Locations.

        Payter README, 'What the terminal does with our data'. Off while the interval is 0 or no
        CPO is connected; failures land in the outbound log and the next round tries again.
        """
        while not self._stop_polling.is_set():
            interval = self.state.config.poll_interval
            if interval <= 0 or self.state.get_peer() is None:
                self._stop_polling.wait(0.2)
                continue
            for module in self.state.config.poll_modules:
                if self._stop_polling.is_set():
                    return
                with contextlib.suppress(OcpiClientError):
                    self.client.crawl(module, max_seconds=max(interval, 5.0))
            self._stop_polling.wait(interval)

    def server_close(self) -> None:
        self._stop_polling.set()
        self._poller.join(timeout=5)
        super().server_close()
        self.client.close()


class SimHandler(BaseHTTPRequestHandler):
    """Routes one request; one instance per request, on its own thread."""

    server: SimServer
    protocol_version = "HTTP/1.1"
    server_version = "PtpSimulator/1.0"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle plus delayed ACKs
    # add ~40 ms to every keep-alive answer on loopback.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))  # noqa: UP031

    # -- plumbing ----------------------------------------------------------------------------------

    @property
    def state(self) -> SimState:
        return self.server.state

    def _send(self, answer: Answer) -> None:
        payload = dumps(answer.body) if answer.body is not None else b""
        self.send_response(answer.status)
        self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        # transport_and_format.asciidoc, 'Unique message IDs': echo both ids.
        self.send_header("X-Request-ID", self.headers.get("X-Request-ID") or new_id())
        self.send_header("X-Correlation-ID", self.headers.get("X-Correlation-ID") or new_id())
        for name, value in (answer.headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _drop_connection(self) -> None:
        # Simulates a peer that is down: the client sees the connection closed with no answer.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        path = split.path
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        raw = self._read_body()
        if raw is None:
            self.close_connection = True
            self._send(ocpi_answer(413, code=CLIENT_ERROR, message="Bad or too large Content-Length"))
            return
        if path == "/_sim" or path.startswith("/_sim/"):
            self._send(
                route_control(
                    self.server,
                    method=self.command,
                    path=path,
                    query=query,
                    raw=raw,
                    client_host=self.client_address[0],
                )
            )
            return
        fault = self.state.decide_fault(path)
        answer: Answer | None = None
        if fault is not None and fault.mode == "http_500":
            answer = ocpi_answer(500, code=SERVER_ERROR, message="Injected fault: http_500")
        elif fault is not None and fault.mode == "http_401":
            answer = ocpi_answer(401, code=CLIENT_ERROR, message="Injected fault: http_401")
        elif fault is not None and fault.mode == "slow":
            time.sleep(min(max(fault.seconds, 0.0), MAX_SLOW_SECONDS))
        if answer is None and (fault is None or fault.mode != "down"):
            try:
                answer = route_ocpi(
                    self.server,
                    method=self.command,
                    path=path,
                    query=query,
                    raw=raw,
                    headers=dict(self.headers.items()),
                    authorization=self.headers.get("Authorization"),
                )
            except Exception as exc:
                # A bug in the simulator should reach the test as an answer, not a dropped connection.
                traceback.print_exc(file=sys.stderr)
                answer = ocpi_answer(
                    500, code=SERVER_ERROR, message=f"Simulator error: {type(exc).__name__}: {exc}"
                )
        # Every OCPI request is logged, faulted ones too, so a test can count a client's retries.
        self.state.log_request(
            {
                "time": format_datetime(now_utc()),
                "method": self.command,
                "path": path,
                "query": query,
                "headers": dict(self.headers.items()),
                "body": _safe_json(raw),
                "status": answer.status if answer is not None else None,
                "fault": fault.mode if fault is not None else None,
            }
        )
        if answer is None:
            self._drop_connection()
        else:
            self._send(answer)


def _safe_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")
