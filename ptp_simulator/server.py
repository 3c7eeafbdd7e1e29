"""The simulator's HTTP side: OCPI 2.2.1/2.3.0 as a PTP, plus the ``/_sim/`` control API.

Built on ``http.server.ThreadingHTTPServer`` so it needs nothing beyond the standard library and
``httpx`` (for the calls back to the CPO during a handshake).
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

from ptp_simulator import SUPPORTED_VERSIONS
from ptp_simulator.client import (
    CRAWLABLE_MODULES,
    CpoClient,
    MissingEndpointsError,
    OcpiClientError,
    UnsupportedVersionError,
)
from ptp_simulator.ocpi import (
    CLIENT_ERROR,
    INVALID_PARAMETERS,
    JSON_CONTENT_TYPE,
    NO_MATCHING_ENDPOINTS,
    SERVER_ERROR,
    SUCCESS,
    UNABLE_TO_USE_CLIENT_API,
    UNSUPPORTED_VERSION,
    decode_authorization,
    dumps,
    envelope,
    format_datetime,
    loads,
    new_token,
    now_utc,
    parse_datetime,
    price_in_version,
)
from ptp_simulator.state import Fault, Peer, SimState, new_id

MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_SLOW_SECONDS = 300.0

# Our endpoints per version (version_information_endpoint.asciidoc, 'Endpoint class').
# The PTP receives the CPO's pushes, sends commands (so it serves the commands Sender interface,
# where CommandResults arrive) and owns Payments data (mod_payments.asciidoc: data owner PTP).
ENDPOINTS: tuple[tuple[str, str], ...] = (
    ("credentials", "SENDER"),
    ("locations", "RECEIVER"),
    ("tariffs", "RECEIVER"),
    ("sessions", "RECEIVER"),
    ("cdrs", "RECEIVER"),
    ("commands", "SENDER"),
    ("payments", "SENDER"),
)


@dataclass
class Answer:
    """What a route returns: HTTP status, JSON body, extra headers."""

    status: int
    body: Any
    headers: dict[str, str] | None = None


def ocpi_answer(
    status: int,
    data: Any = None,
    *,
    code: int = SUCCESS,
    message: str | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """An answer in the OCPI envelope; ``data`` is left out when None (status_codes.asciidoc)."""
    return Answer(
        status,
        envelope(data, status_code=code, status_message=message, include_data=data is not None),
        headers,
    )


def not_found(message: str = "Unknown object") -> Answer:
    """HTTP 404 for an unknown object or path (status_codes.asciidoc: GET of a missing resource)."""
    return ocpi_answer(404, code=CLIENT_ERROR, message=message)


def invalid(message: str) -> Answer:
    """Status 2001 for a request that reached the OCPI layer with bad content."""
    # A request that reached the OCPI layer gets HTTP 200 with a 2xxx code (status_codes.asciidoc).
    return ocpi_answer(200, code=INVALID_PARAMETERS, message=message)


def method_not_allowed(message: str = "Method not allowed") -> Answer:
    """HTTP 405, also what credentials.asciidoc asks for a POST/PUT/DELETE in the wrong state."""
    return ocpi_answer(405, code=CLIENT_ERROR, message=message)


@dataclass
class Request:
    method: str
    path: str
    version: str
    rest: list[str]
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    token: str | None
    access: str | None


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
            self._send(self._control(path, query, raw))
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
                answer = self._ocpi(path, query, raw)
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

    # -- OCPI ------------------------------------------------------------------------------------------

    def _ocpi(self, path: str, query: dict[str, str], raw: bytes) -> Answer:
        segments = [unquote(s) for s in path.strip("/").split("/") if s]
        if len(segments) < 2 or segments[0] != "ocpi":
            return not_found("Unknown path")
        candidates = decode_authorization(self.headers.get("Authorization"))
        access = self.state.token_access(candidates)
        token = next((c for c in candidates if self.state.token_access((c,))), None)
        if access is None:
            # transport_and_format.asciidoc, 'Authorization header': missing or unknown token is 401.
            return ocpi_answer(401, code=CLIENT_ERROR, message="Unauthorized: missing or unknown token")
        if segments[1] == "versions" and len(segments) == 2:
            if self.command != "GET":
                return method_not_allowed()
            return ocpi_answer(
                200, [{"version": v, "url": f"{self.state.base_url}/ocpi/{v}"} for v in SUPPORTED_VERSIONS]
            )
        version = segments[1]
        if version not in SUPPORTED_VERSIONS:
            return ocpi_answer(404, code=UNSUPPORTED_VERSION, message=f"Unsupported version {version}")
        if len(segments) == 2:
            if self.command != "GET":
                return method_not_allowed()
            return ocpi_answer(200, self._version_details(version))
        module = segments[2]
        # A token A is only good for versions and credentials (transport_and_format, 'Authorization header').
        if access == "token_a" and module != "credentials":
            return ocpi_answer(401, code=CLIENT_ERROR, message="Unauthorized: token A only opens credentials")
        body: Any = None
        if raw.strip():
            try:
                body = loads(raw)
            except ValueError:
                return ocpi_answer(400, code=INVALID_PARAMETERS, message="Body is not valid JSON")
        request = Request(
            method=self.command,
            path=path,
            version=version,
            rest=segments[3:],
            query=query,
            body=body,
            headers=dict(self.headers.items()),
            token=token,
            access=access,
        )
        handler = {
            "credentials": self._credentials,
            "locations": self._locations,
            "tariffs": self._tariffs,
            "sessions": self._sessions,
            "cdrs": self._cdrs,
            "commands": self._commands,
            "payments": self._payments,
        }.get(module)
        if handler is None:
            return not_found(f"Unknown module {module}")
        return handler(request)

    def _version_details(self, version: str) -> dict[str, Any]:
        base = f"{self.state.base_url}/ocpi/{version}"
        return {
            "version": version,
            "endpoints": [
                {"identifier": identifier, "role": role, "url": f"{base}/{identifier}"}
                for identifier, role in ENDPOINTS
            ],
        }

    def _history_entry(self, request: Request, target: str | None = None) -> dict[str, Any]:
        entry = {
            "time": format_datetime(now_utc()),
            "method": request.method,
            "path": request.path,
            "body": request.body,
            "headers": request.headers,
        }
        if target:
            entry["target"] = target
        return entry

    # -- credentials (credentials.asciidoc) --------------------------------------------------------------

    def _own_credentials(self, token: str) -> dict[str, Any]:
        return {
            "token": token,
            "url": f"{self.state.base_url}/ocpi/versions",
            "roles": self.state.own_roles(),
        }

    def _credentials(self, request: Request) -> Answer:
        if request.rest:
            return not_found()
        peer = self.state.get_peer()
        registered = peer is not None and peer.registered_by != "connect"
        if request.method == "GET":
            return ocpi_answer(200, self._own_credentials(request.token or ""))
        if request.method == "DELETE":
            if not registered or request.access != "full":
                return method_not_allowed("Not registered")
            self.state.set_peer(None)
            self.state.revoke_token(peer.our_token if peer else None)
            return ocpi_answer(200, code=SUCCESS)
        if request.method not in ("POST", "PUT"):
            return method_not_allowed()
        # 'POST Method': 405 once registered; 'PUT Method': 405 before registration.
        if request.method == "POST" and registered:
            return method_not_allowed("Already registered; use PUT to update")
        if request.method == "PUT" and (not registered or request.access != "full"):
            return method_not_allowed("Not registered; use POST to register")
        body = request.body
        if not isinstance(body, dict) or not body.get("token") or not body.get("url"):
            return invalid("Credentials need token and url")
        roles = body.get("roles")
        if roles is not None and not isinstance(roles, list):
            return invalid("roles must be a list")
        try:
            chosen, version_url, endpoints = self.server.client.discover(
                str(body["url"]), str(body["token"]), request.version
            )
        except UnsupportedVersionError as exc:
            return ocpi_answer(200, code=UNSUPPORTED_VERSION, message=str(exc))
        except MissingEndpointsError as exc:
            return ocpi_answer(200, code=NO_MATCHING_ENDPOINTS, message=str(exc))
        except OcpiClientError as exc:
            # credentials.asciidoc, 'Errors during registration': 3001 when we cannot use their API.
            return ocpi_answer(200, code=UNABLE_TO_USE_CLIENT_API, message=str(exc))
        token_c = new_token()
        self.state.issue_token(token_c)
        if peer is not None and peer.our_token:
            self.state.revoke_token(peer.our_token)
        self.state.set_peer(
            Peer(
                versions_url=str(body["url"]),
                token=str(body["token"]),
                our_token=token_c,
                version=chosen,
                version_url=version_url,
                endpoints=endpoints,
                roles=list(roles or []),
                registered_by="them",
                registered_at=format_datetime(now_utc()),
            )
        )
        return ocpi_answer(200, self._own_credentials(token_c))

    # -- locations (mod_locations.asciidoc, Receiver interface) ------------------------------------------

    def _locations(self, request: Request) -> Answer:
        rest = request.rest
        if not 3 <= len(rest) <= 5:
            return not_found("Use /{country_code}/{party_id}/{location_id}[/{evse_uid}[/{connector_id}]]")
        cc, pid, location_id = rest[0].upper(), rest[1].upper(), rest[2]
        evse_uid = rest[3] if len(rest) > 3 else None
        connector_id = rest[4] if len(rest) > 4 else None
        key = f"{cc}/{pid}/{location_id}"
        level = "connector" if connector_id is not None else "evse" if evse_uid is not None else "location"
        with self.state.lock:
            item = self.state.get_received("locations", key)
            location = item["object"] if item and not item["deleted"] else None
            if request.method == "GET":
                found = _locate(location, evse_uid, connector_id)
                return ocpi_answer(200, found) if found is not None else not_found()
            if request.method not in ("PUT", "PATCH"):
                return method_not_allowed()
            body = request.body
            if not isinstance(body, dict):
                return invalid("Body must be a JSON object")
            id_field, id_value = {
                "location": ("id", location_id),
                "evse": ("uid", evse_uid),
                "connector": ("id", connector_id),
            }[level]
            # transport_and_format.asciidoc, 'Errors': an id that differs from the URL is 2001.
            if id_field in body and str(body[id_field]) != id_value:
                return invalid(f"{id_field} in body differs from the URL")
            if level == "location":
                for name, value in (("country_code", cc), ("party_id", pid)):
                    if name in body and str(body[name]).upper() != value:
                        return invalid(f"{name} in body differs from the URL")
            stamp = str(body.get("last_updated") or format_datetime(now_utc()))
            if request.method == "PATCH":
                # mod_locations.asciidoc, 'PATCH Method': last_updated is required.
                if "last_updated" not in body:
                    return invalid("PATCH requires last_updated")
                target = _locate(location, evse_uid, connector_id)
                if target is None or location is None:
                    return not_found()
                target.update(body)
                created = False
            else:
                holder = {"location": location}
                created = _put_location_part(
                    holder,
                    key_parts=(cc, pid, location_id),
                    evse_uid=evse_uid,
                    connector_id=connector_id,
                    body=body,
                )
                location = holder["location"]
            # 'PUT Method'/'PATCH Method': a change below the location moves its parents' last_updated.
            if level != "location" and location is not None:
                location["last_updated"] = stamp
                if level == "connector":
                    evse = _locate(location, evse_uid, None)
                    if evse is not None:
                        evse["last_updated"] = stamp
            self.state.record_received("locations", key, location, self._history_entry(request, target=level))
        return ocpi_answer(201 if created else 200)

    # -- tariffs (mod_tariffs.asciidoc, Receiver interface) ------------------------------------------------

    def _tariffs(self, request: Request) -> Answer:
        if len(request.rest) != 3:
            return not_found("Use /{country_code}/{party_id}/{tariff_id}")
        cc, pid, tariff_id = request.rest[0].upper(), request.rest[1].upper(), request.rest[2]
        key = f"{cc}/{pid}/{tariff_id}"
        with self.state.lock:
            item = self.state.get_received("tariffs", key)
            exists = item is not None and not item["deleted"] and item["object"] is not None
            if request.method == "GET":
                return ocpi_answer(200, item["object"]) if exists and item else not_found()
            if request.method == "DELETE":
                if not exists:
                    return not_found()
                self.state.record_received("tariffs", key, None, self._history_entry(request), deleted=True)
                return ocpi_answer(200)
            if request.method != "PUT":
                return method_not_allowed("Tariffs accept GET, PUT and DELETE")
            body = request.body
            if not isinstance(body, dict):
                return invalid("Body must be a JSON object")
            if "id" in body and str(body["id"]) != tariff_id:
                return invalid("id in body differs from the URL")
            self.state.record_received("tariffs", key, body, self._history_entry(request))
        return ocpi_answer(200 if exists else 201)

    # -- sessions (mod_sessions.asciidoc, Receiver interface) ----------------------------------------------

    def _sessions(self, request: Request) -> Answer:
        if len(request.rest) != 3:
            return not_found("Use /{country_code}/{party_id}/{session_id}")
        cc, pid, session_id = request.rest[0].upper(), request.rest[1].upper(), request.rest[2]
        key = f"{cc}/{pid}/{session_id}"
        with self.state.lock:
            item = self.state.get_received("sessions", key)
            current = item["object"] if item and not item["deleted"] else None
            if request.method == "GET":
                return ocpi_answer(200, current) if current is not None else not_found()
            if request.method not in ("PUT", "PATCH"):
                return method_not_allowed("Sessions accept GET, PUT and PATCH")
            body = request.body
            if not isinstance(body, dict):
                return invalid("Body must be a JSON object")
            if "id" in body and str(body["id"]) != session_id:
                return invalid("id in body differs from the URL")
            if request.method == "PUT":
                self.state.record_received("sessions", key, body, self._history_entry(request))
                return ocpi_answer(200 if current is not None else 201)
            if "last_updated" not in body:
                return invalid("PATCH requires last_updated")
            if current is None:
                return not_found()
            merged = dict(current)
            for name, value in body.items():
                if name == "charging_periods":
                    # mod_sessions.asciidoc, 'PATCH Method': charging_periods in a PATCH are
                    # appended; an empty list changes nothing.
                    merged["charging_periods"] = list(current.get("charging_periods") or []) + list(
                        value or []
                    )
                else:
                    merged[name] = value
            self.state.record_received("sessions", key, merged, self._history_entry(request))
        return ocpi_answer(200)

    # -- cdrs (mod_cdrs.asciidoc, Receiver interface) --------------------------------------------------------

    def _cdrs(self, request: Request) -> Answer:
        if request.method == "GET":
            if len(request.rest) != 3:
                return not_found("GET the URL given in the Location header of the POST")
            key = f"{request.rest[0].upper()}/{request.rest[1].upper()}/{request.rest[2]}"
            item = self.state.get_received("cdrs", key)
            return ocpi_answer(200, item["object"]) if item and item["object"] is not None else not_found()
        if request.method != "POST" or request.rest:
            return method_not_allowed("CDRs accept POST on the endpoint and GET on the returned URL")
        body = request.body
        if not isinstance(body, dict):
            return invalid("Body must be a JSON object")
        # The CDR's identity is where it is kept and fetched again: a CDR without it is refused,
        # as a strict receiver would (mod_cdrs, CDR object: country_code, party_id, id required).
        missing = [name for name in ("country_code", "party_id", "id") if not body.get(name)]
        if missing:
            return invalid(f"CDR lacks {', '.join(missing)}")
        cc = str(body["country_code"]).upper()
        pid = str(body["party_id"]).upper()
        cdr_id = str(body["id"])
        key = f"{cc}/{pid}/{cdr_id}"
        location = f"{self.state.base_url}/ocpi/{request.version}/cdrs/{key}"
        with self.state.lock:
            existing = self.state.get_received("cdrs", key)
            if existing is not None:
                # CDRs cannot be replaced (mod_cdrs.asciidoc); a retried POST keeps the first one
                # and is recorded, so a test can see the duplicate.
                self.state.record_received(
                    "cdrs", key, None, self._history_entry(request, target="duplicate")
                )
                return ocpi_answer(200, headers={"Location": location})
            self.state.record_received("cdrs", key, body, self._history_entry(request))
        # 'Response Headers': Location is required and points at the stored CDR.
        return ocpi_answer(201, headers={"Location": location})

    # -- commands: the Sender interface receives CommandResults (mod_commands.asciidoc) ---------------

    def _commands(self, request: Request) -> Answer:
        if request.method != "POST" or len(request.rest) != 2:
            return method_not_allowed("POST a CommandResult to the response_url of the command")
        body = request.body
        if not isinstance(body, dict) or "result" not in body:
            return invalid("CommandResult needs result")
        if not self.state.record_command_result(request.rest[1], body):
            return not_found("Unknown command id")
        return ocpi_answer(200)

    # -- payments: our Sender interface (mod_payments.asciidoc) ---------------------------------------

    def _payments(self, request: Request) -> Answer:
        rest = request.rest
        if not rest:
            return not_found("Use terminals or financial-advice-confirmations")
        if rest[0] == "financial-advice-confirmations":
            if request.method != "GET" or len(rest) > 2:
                return method_not_allowed()
            # A FAC keeps the price shape it was made in; answer in the version asked for.
            if len(rest) == 2:
                fac = self.state.get_fac(rest[1])
                return ocpi_answer(200, _fac_in(fac, request.version)) if fac is not None else not_found()
            facs = [_fac_in(fac, request.version) for fac in self.state.list_facs()]
            return self._paginated(request, facs, "id")
        if rest[0] != "terminals":
            return not_found()
        if len(rest) == 1:
            if request.method != "GET":
                return method_not_allowed()
            return self._paginated(request, self.state.list_terminals(), "terminal_id")
        if len(rest) == 2 and rest[1] == "activate":
            if request.method != "POST":
                return method_not_allowed()
            return self._activate(request)
        terminal_id = rest[1]
        if len(rest) == 3 and rest[2] == "deactivate":
            if request.method != "POST":
                return method_not_allowed()
            terminal = self.state.deactivate_terminal(terminal_id)
            if terminal is None:
                return not_found()
            self.state.record_received(
                "terminals", terminal["terminal_id"], None, self._history_entry(request, "deactivate")
            )
            return ocpi_answer(200, terminal)
        if len(rest) != 2:
            return not_found()
        with self.state.lock:
            terminal = self.state.get_terminal(terminal_id)
            if request.method == "GET":
                return ocpi_answer(200, terminal) if terminal is not None else not_found()
            if request.method not in ("PUT", "PATCH"):
                return method_not_allowed()
            if terminal is None:
                return not_found()
            body = request.body
            if not isinstance(body, dict):
                return invalid("Body must be a JSON object")
            if (
                "terminal_id" in body
                and str(body["terminal_id"]).lower() != str(terminal["terminal_id"]).lower()
            ):
                return invalid("terminal_id in body differs from the URL")
            # transport_and_format.asciidoc, 'PUT': optional fields left out revert to null.
            updated = {**terminal, **body} if request.method == "PATCH" else dict(body)
            updated["terminal_id"] = terminal["terminal_id"]
            # We own terminals, so last_updated is our clock (it drives date_from/date_to).
            updated["last_updated"] = format_datetime(now_utc())
            stored = self.state.put_terminal(updated)
            self.state.record_received(
                "terminals", stored["terminal_id"], stored, self._history_entry(request)
            )
        return ocpi_answer(200, stored)

    def _activate(self, request: Request) -> Answer:
        body = request.body
        if not isinstance(body, dict):
            return invalid("Body must be a JSON object")
        # 'POST Activate Terminal Method': terminal_id is optional, the PTP sets it.
        terminal = dict(body)
        terminal["terminal_id"] = str(body.get("terminal_id") or new_id())
        terminal["last_updated"] = format_datetime(now_utc())
        stored = self.state.put_terminal(terminal)
        self.state.record_received(
            "terminal_activations", stored["terminal_id"], body, self._history_entry(request)
        )
        if self.state.config.push_activated_terminals and self.state.get_peer() is not None:
            # The PTP then creates the terminal on the CPO side; after our answer, not within it.
            threading.Thread(target=self._push_activated, args=(stored,), daemon=True).start()
        return ocpi_answer(200, stored)

    def _push_activated(self, terminal: dict[str, Any]) -> None:
        time.sleep(0.05)
        # A failure is already in the outbound log, which is where a test looks.
        with contextlib.suppress(OcpiClientError):
            self.server.client.push_terminal(terminal, "POST")

    def _paginated(self, request: Request, objects: list[dict[str, Any]], id_field: str) -> Answer:
        """A paginated list (transport_and_format.asciidoc, 'Pagination'), oldest first."""
        query = request.query
        try:
            date_from = parse_datetime(query["date_from"]) if query.get("date_from") else None
            date_to = parse_datetime(query["date_to"]) if query.get("date_to") else None
            offset = int(query.get("offset") or 0)
            limit = int(query["limit"]) if query.get("limit") else self.state.config.page_limit
        except ValueError as exc:
            return ocpi_answer(400, code=INVALID_PARAMETERS, message=f"Bad query parameter: {exc}")
        if offset < 0 or limit < 0:
            return ocpi_answer(400, code=INVALID_PARAMETERS, message="offset and limit must not be negative")
        limit = min(limit, self.state.config.max_page_limit)
        selected = []
        for obj in objects:
            stamp = _stamp_of(obj)
            if date_from is not None and stamp < date_from:
                continue
            if date_to is not None and stamp >= date_to:
                continue
            selected.append((stamp, str(obj.get(id_field)), obj))
        selected.sort(key=lambda item: (item[0], item[1]))
        page = [obj for _, _, obj in selected[offset : offset + limit]]
        headers = {"X-Total-Count": str(len(selected)), "X-Limit": str(limit)}
        if offset + limit < len(selected) and limit > 0:
            params = {k: v for k, v in query.items() if k in ("date_from", "date_to")}
            params.update(offset=str(offset + limit), limit=str(limit))
            headers["Link"] = f'<{self.state.base_url}{request.path}?{urlencode(params)}>; rel="next"'
        return ocpi_answer(200, page, headers=headers)

    # -- control API -----------------------------------------------------------------------------------------

    def _control(self, path: str, query: dict[str, str], raw: bytes) -> Answer:
        if not _is_loopback(self.client_address[0]):
            return Answer(403, {"ok": False, "error": "control API is loopback only"})
        try:
            body = loads(raw) if raw.strip() else {}
        except ValueError:
            return Answer(400, {"ok": False, "error": "body is not valid JSON"})
        if not isinstance(body, dict):
            return Answer(400, {"ok": False, "error": "body must be a JSON object"})
        parts = [unquote(s) for s in path.strip("/").split("/")[1:] if s]
        try:
            return self._control_route(self.command, parts, query, body)
        except OcpiClientError as exc:
            return Answer(
                502, {"ok": False, "error": str(exc), "http_status": exc.http_status, "body": exc.body}
            )
        except (KeyError, ValueError, TypeError) as exc:
            return Answer(400, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            return Answer(500, {"ok": False, "error": f"{type(exc).__name__}: {exc}"})

    def _control_route(
        self, method: str, parts: list[str], query: dict[str, str], body: dict[str, Any]
    ) -> Answer:
        state, client = self.state, self.server.client
        route = (method, "/".join(parts))
        if route == ("GET", "health"):
            return Answer(
                200,
                {
                    "ok": True,
                    "base_url": state.base_url,
                    "versions_url": state.base_url + "/ocpi/versions",
                    "token_a": state.config.token_a,
                },
            )
        if route == ("GET", "state"):
            return Answer(200, state.snapshot())
        if route == ("POST", "reset"):
            state.reset(keep_credentials=bool(body.get("keep_credentials", False)))
            return Answer(200, {"ok": True})
        if route == ("GET", "received"):
            module = query.get("module")
            received = state.received_snapshot(module)
            if module is not None and query.get("key"):
                return Answer(200, received.get(query["key"]) or {})
            return Answer(200, received)
        if route == ("GET", "requests"):
            return Answer(200, state.requests_snapshot())
        if route == ("GET", "outbound"):
            return Answer(200, state.outbound_snapshot())
        if route == ("POST", "config"):
            return Answer(200, asdict(state.update_config(body)))
        if route == ("POST", "tokens"):
            # Add pre-shared full-access tokens (and/or set token A) without a handshake.
            changes: dict[str, Any] = {}
            if "token_a" in body:
                changes["token_a"] = body["token_a"]
            if "tokens" in body:
                changes["static_tokens"] = [*state.config.static_tokens, *map(str, body["tokens"])]
            return Answer(200, asdict(state.update_config(changes)))
        if parts and parts[0] == "faults":
            return self._control_faults(method, query, body)
        if route == ("GET", "commands"):
            return Answer(200, state.commands_snapshot())
        if method == "GET" and len(parts) == 2 and parts[0] == "commands":
            wait = min(float(query.get("wait", 0) or 0), 60.0)
            record = client.wait_for_command_result(parts[1], wait) if wait else state.get_command(parts[1])
            return (
                Answer(200, record)
                if record is not None
                else Answer(404, {"ok": False, "error": "unknown command"})
            )
        if route == ("POST", "terminals"):
            return Answer(200, self._create_terminals(body))
        if method == "POST" and len(parts) == 2 and parts[0] == "actions":
            return self._control_action(parts[1], body)
        return Answer(404, {"ok": False, "error": f"unknown control route {method} /_sim/{'/'.join(parts)}"})

    def _control_faults(self, method: str, query: dict[str, str], body: dict[str, Any]) -> Answer:
        state = self.state
        if method == "GET":
            return Answer(200, state.faults_snapshot())
        if method == "DELETE":
            state.clear_faults(query.get("prefix"))
            return Answer(200, {"ok": True})
        if method == "POST":
            if body.get("mode") in (None, "clear"):
                state.clear_faults(body.get("prefix"))
                return Answer(200, {"ok": True})
            fault = Fault(
                prefix=str(body.get("prefix", "")),
                mode=str(body["mode"]),
                remaining=int(body["count"]) if body.get("count") is not None else None,
                seconds=float(body.get("seconds", 0) or 0),
                ok_count=int(body.get("ok_count", body.get("n", 0)) or 0),
                fail_mode=str(body.get("fail_mode", "http_500")),
            )
            state.set_fault(fault)
            return Answer(200, asdict(fault))
        return Answer(405, {"ok": False, "error": "GET, POST or DELETE"})

    def _create_terminals(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """Create terminals we own: ``{"count": n}`` or ``{"terminal": {...}}``; optionally push them."""
        templates = (
            [body["terminal"]] if "terminal" in body else [{} for _ in range(int(body.get("count", 1)))]
        )
        created = []
        for template in templates:
            terminal = {
                "terminal_id": new_id(),
                "customer_reference": body.get("customer_reference"),
                "country_code": self.state.config.country_code,
                "party_id": self.state.config.party_id,
                "invoice_creator": "PTP",
                "reference": "SIM-" + new_id()[:8],
                "location_ids": [],
                "evse_uids": [],
                "last_updated": format_datetime(now_utc()),
            }
            terminal.update(template)
            terminal = {k: v for k, v in terminal.items() if v is not None}
            created.append(self.state.put_terminal(terminal))
            if body.get("push"):
                self.server.client.push_terminal(terminal, "POST")
        return created

    def _control_action(self, action: str, body: dict[str, Any]) -> Answer:
        client = self.server.client
        if action == "register":
            token = body.get("token", body.get("token_a"))
            peer = client.register(str(body["versions_url"]), str(token), body.get("version"))
            return Answer(200, {"ok": True, "peer": asdict(peer)})
        if action == "connect":
            peer = client.connect(str(body["versions_url"]), str(body["token"]), body.get("version"))
            return Answer(200, {"ok": True, "peer": asdict(peer)})
        if action == "update-credentials":
            peer = client.update_credentials(body.get("version"))
            return Answer(200, {"ok": True, "peer": asdict(peer)})
        if action == "unregister":
            client.unregister()
            return Answer(200, {"ok": True})
        if action == "crawl":
            if body.get("modules"):
                modules = list(body["modules"])
            elif body.get("module"):
                modules = [body["module"]]
            else:
                modules = list(CRAWLABLE_MODULES)
            results = {}
            for module in modules:
                result = client.crawl(
                    str(module),
                    date_from=body.get("date_from"),
                    date_to=body.get("date_to"),
                    limit=int(body["limit"]) if body.get("limit") else None,
                    max_pages=int(body.get("max_pages", 1000)),
                    max_seconds=float(body.get("max_seconds", 120)),
                )
                results[module] = {**result.summary(), "objects": result.objects}
            return Answer(200, {"ok": True, "results": results})
        if action == "command":
            fields = dict(body)
            command = str(fields.pop("command", "")).upper()
            wait = min(float(fields.pop("wait", 0) or 0), 60.0)
            if command == "START_SESSION":
                record = client.start_session(
                    location_id=str(fields["location_id"]),
                    evse_uid=fields.get("evse_uid"),
                    connector_id=fields.get("connector_id"),
                    authorization_reference=fields.get("authorization_reference"),
                    token=fields.get("token"),
                )
            else:
                record = client.send_command(command, fields)
            if wait and record.get("id"):
                record = client.wait_for_command_result(record["id"], wait) or record
            return Answer(200, record)
        if action in ("fac", "financial-advice-confirmation"):
            sent = client.post_financial_advice_confirmation(
                authorization_reference=str(body["authorization_reference"]),
                amount_incl_vat=Decimal(str(body["amount_incl_vat"])),
                vat_percentage=Decimal(str(body.get("vat_percentage", "21"))),
                currency=str(body.get("currency", "EUR")),
                capture_status_code=str(body.get("capture_status_code", "SUCCESS")),
                capture_status_message=body.get("capture_status_message"),
                eft_data=body.get("eft_data"),
                fac_id=body.get("id"),
            )
            return Answer(200, sent)
        if action == "transaction":
            steps = client.run_transaction(
                location_id=str(body["location_id"]),
                evse_uid=body.get("evse_uid"),
                connector_id=body.get("connector_id"),
                authorization_reference=body.get("authorization_reference"),
                stop_after=float(body["stop_after"]) if body.get("stop_after") is not None else None,
                capture_status_code=str(body.get("capture_status_code", "SUCCESS")),
                vat_percentage=Decimal(str(body.get("vat_percentage", "21"))),
                timeout=min(float(body.get("timeout", 30)), 300.0),
            )
            return Answer(200, steps)
        if action == "get":
            ids = body.get("ids") or [s for s in str(body.get("path", "")).split("/") if s]
            response = client.get_object(str(body["module"]), [str(i) for i in ids])
            return Answer(200, {"http_status": response.http_status, "response": response.body})
        if action == "terminal":
            sent = client.push_terminal(dict(body.get("terminal") or {}), str(body.get("method", "POST")))
            return Answer(200, sent)
        return Answer(404, {"ok": False, "error": f"unknown action {action}"})


# -- helpers ---------------------------------------------------------------------------------------------


def _locate(
    location: dict[str, Any] | None, evse_uid: str | None, connector_id: str | None
) -> dict[str, Any] | None:
    """The location, one of its EVSEs, or one connector of that EVSE, by the URL's ids."""
    if location is None or evse_uid is None:
        return location
    evse = next((e for e in location.get("evses") or [] if str(e.get("uid")) == evse_uid), None)
    if evse is None or connector_id is None:
        return evse
    return next((c for c in evse.get("connectors") or [] if str(c.get("id")) == connector_id), None)


def _put_location_part(
    holder: dict[str, Any],
    *,
    key_parts: tuple[str, str, str],
    evse_uid: str | None,
    connector_id: str | None,
    body: dict[str, Any],
) -> bool:
    """Apply a PUT at any level; returns True when the addressed object is new."""
    cc, pid, location_id = key_parts
    if evse_uid is None:
        created = holder["location"] is None
        holder["location"] = dict(body)
        return created
    if holder["location"] is None:
        # An EVSE pushed before its location: keep it under a placeholder the later PUT replaces.
        holder["location"] = {"country_code": cc, "party_id": pid, "id": location_id, "evses": []}
    location = holder["location"]
    evses = location.setdefault("evses", [])
    index = next((i for i, e in enumerate(evses) if str(e.get("uid")) == evse_uid), None)
    if connector_id is None:
        if index is None:
            evses.append(dict(body))
            return True
        evses[index] = dict(body)
        return False
    if index is None:
        evses.append({"uid": evse_uid, "connectors": []})
        index = len(evses) - 1
    connectors = evses[index].setdefault("connectors", [])
    cindex = next((i for i, c in enumerate(connectors) if str(c.get("id")) == connector_id), None)
    if cindex is None:
        connectors.append(dict(body))
        return True
    connectors[cindex] = dict(body)
    return False


def _fac_in(fac: dict[str, Any], version: str) -> dict[str, Any]:
    if isinstance(fac.get("total_costs"), dict):
        return {**fac, "total_costs": price_in_version(fac["total_costs"], version)}
    return fac


def _stamp_of(obj: dict[str, Any]) -> datetime:
    # Objects a test created by hand may lack or garble last_updated; sort those first.
    try:
        return parse_datetime(str(obj.get("last_updated")))
    except ValueError:
        return datetime(1970, 1, 1, tzinfo=UTC)


def _safe_json(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def is_loopback_host(host: str) -> bool:
    """Whether a bind address is loopback; the simulator never listens elsewhere."""
    return _is_loopback(host)
