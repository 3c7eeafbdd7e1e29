"""A minimal CPO on loopback for exercising the simulator's client side in tests.

It serves versions, credentials, paginated Sender lists, a commands Receiver that POSTs the
CommandResult back, and a payments Receiver. It is deliberately small: the real CPO is the portal.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import httpx

from ptp_simulator.ocpi import decode_authorization, encode_token, envelope

PAGE_SIZE = 4


class FakeCpo(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        *,
        token_a: str = "cpo-token-a",  # noqa: S107 (a test token)
        payments_style: str = "payments",
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.base_url = f"http://127.0.0.1:{self.server_port}"
        self.token_a = token_a
        self.token_c = "cpo-token-c"
        self.ptp_token: str | None = None  # the token the PTP gave us
        self.ptp_versions_url: str | None = None
        self.fetched_ptp_versions: Any = None
        self.payments_style = payments_style  # "payments" or "split" endpoint identifiers
        self.lock = threading.Lock()
        self.received: list[dict[str, Any]] = []
        self.command_result = "ACCEPTED"
        self.offered_versions: tuple[str, ...] = ("2.2.1", "2.3.0")
        self.drop_all = False  # close every connection without answering, like a CPO that is down
        # Play the charger: "auto" pushes a session and its CDR after START_SESSION, "on_stop"
        # pushes the session and posts the CDR only once STOP_SESSION arrives.
        self.charging_mode: str | None = None
        self.sessions_started: dict[str, dict[str, Any]] = {}
        self.total_count_bump = 0  # added to X-Total-Count, to play a CPO that miscounts
        self.grow_after_first_page = False  # add an object once the first page is served
        self.objects: dict[str, list[dict[str, Any]]] = {
            "locations": [
                {
                    "id": f"LOC{i:03d}",
                    "country_code": "NL",
                    "party_id": "CPO",
                    "last_updated": f"2024-01-01T00:{i:02d}:00Z",
                }
                for i in range(10)
            ],
            "tariffs": [
                {"id": "T1", "country_code": "NL", "party_id": "CPO", "last_updated": "2024-01-01T00:00:00Z"}
            ],
            "sessions": [
                {
                    "id": f"S{i}",
                    "country_code": "NL",
                    "party_id": "CPO",
                    "last_updated": f"2024-02-01T00:00:0{i}Z",
                }
                for i in range(5)
            ],
            "cdrs": [],
        }
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    @property
    def versions_url(self) -> str:
        return self.base_url + "/cpo/versions"

    def __enter__(self) -> FakeCpo:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(timeout=5)

    def endpoints(self, version: str) -> list[dict[str, str]]:
        base = f"{self.base_url}/cpo/{version}"
        items = [
            {"identifier": "credentials", "role": "SENDER", "url": f"{base}/credentials"},
            {"identifier": "locations", "role": "SENDER", "url": f"{base}/locations"},
            {"identifier": "tariffs", "role": "SENDER", "url": f"{base}/tariffs"},
            {"identifier": "sessions", "role": "SENDER", "url": f"{base}/sessions"},
            {"identifier": "cdrs", "role": "SENDER", "url": f"{base}/cdrs"},
            {"identifier": "commands", "role": "RECEIVER", "url": f"{base}/commands/"},
        ]
        if self.payments_style == "split":
            items += [
                {"identifier": "terminals", "role": "RECEIVER", "url": f"{base}/payments/terminals"},
                {
                    "identifier": "financial-advice-confirmations",
                    "role": "RECEIVER",
                    "url": f"{base}/payments/financial-advice-confirmations",
                },
            ]
        else:
            items.append({"identifier": "payments", "role": "RECEIVER", "url": f"{base}/payments"})
        return items


class _Handler(BaseHTTPRequestHandler):
    server: FakeCpo
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        cpo = self.server
        if cpo.drop_all:
            self.close_connection = True
            return
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        tokens = decode_authorization(self.headers.get("Authorization"))
        valid = {cpo.token_a, cpo.token_c}
        if not valid.intersection(tokens):
            self._reply(401, envelope(None, status_code=2000, include_data=False))
            return
        with cpo.lock:
            cpo.received.append({"method": self.command, "path": split.path, "query": query, "body": body})
        parts = split.path.strip("/").split("/")
        if parts == ["cpo", "versions"]:
            self._reply(
                200,
                envelope([{"version": v, "url": f"{cpo.base_url}/cpo/{v}"} for v in cpo.offered_versions]),
            )
            return
        version = parts[1]
        if len(parts) == 2:
            self._reply(200, envelope({"version": version, "endpoints": cpo.endpoints(version)}))
            return
        module = parts[2]
        if module == "credentials":
            self._credentials(body)
        elif module in cpo.objects and self.command == "GET" and len(parts) == 3:
            self._list(module, query)
        elif module in cpo.objects and self.command == "GET":
            found = next((o for o in cpo.objects[module] if o["id"] == unquote(parts[3])), None)
            if found is None:
                self._reply(404, envelope(None, status_code=2000, include_data=False))
            else:
                self._reply(200, envelope(found))
        elif module == "commands":
            self._command(parts[3], body)
        elif module == "payments":
            self._reply(201, envelope(None, include_data=False))
        else:
            self._reply(404, envelope(None, status_code=2000, include_data=False))

    def _credentials(self, body: dict[str, Any] | None) -> None:
        cpo = self.server
        if self.command == "DELETE":
            cpo.ptp_token = None
            self._reply(200, envelope(None, include_data=False))
            return
        if body is None:
            self._reply(200, envelope(None, status_code=2001, include_data=False))
            return
        # As a credentials Receiver: call the PTP back with its token before answering.
        response = httpx.get(
            body["url"],
            headers={"Authorization": encode_token(body["token"])},
            timeout=5,
            follow_redirects=False,
        )
        cpo.fetched_ptp_versions = response.json()
        cpo.ptp_token = body["token"]
        cpo.ptp_versions_url = body["url"]
        if self.command == "PUT":
            cpo.token_c = "cpo-token-c-rotated"
        roles = [
            {"role": "CPO", "country_code": "NL", "party_id": "CPO", "business_details": {"name": "Fake CPO"}}
        ]
        self._reply(200, envelope({"token": cpo.token_c, "url": cpo.versions_url, "roles": roles}))

    def _list(self, module: str, query: dict[str, str]) -> None:
        objects = self.server.objects[module]
        if "date_from" in query:
            objects = [o for o in objects if o["last_updated"] >= query["date_from"].replace("+00:00", "Z")]
        offset = int(query.get("offset", 0))
        limit = min(int(query.get("limit", PAGE_SIZE)), PAGE_SIZE)
        page = objects[offset : offset + limit]
        headers = {"X-Total-Count": str(len(objects) + self.server.total_count_bump), "X-Limit": str(limit)}
        if self.server.grow_after_first_page and offset == 0:
            self.server.grow_after_first_page = False
            objects.append(
                {
                    "id": "LOC-NEW",
                    "country_code": "NL",
                    "party_id": "CPO",
                    "last_updated": "2025-01-01T00:00:00Z",
                }
            )
        if offset + limit < len(objects):
            params = {k: v for k, v in query.items() if k in ("date_from", "date_to")}
            params.update(offset=str(offset + limit), limit=str(limit))
            headers["Link"] = (
                f'<{self.server.base_url}{urlsplit(self.path).path}?{urlencode(params)}>; rel="next"'
            )
        self._reply(200, envelope(page), headers)

    def _command(self, command: str, body: dict[str, Any]) -> None:
        cpo = self.server
        self._reply(200, envelope({"result": "ACCEPTED", "timeout": 30}))
        token = cpo.ptp_token or ""
        # The PTP's module base, e.g. http://127.0.0.1:1234/ocpi/2.3.0, from the response_url.
        base = body["response_url"].split("/commands/")[0]
        version = base.rsplit("/", 1)[-1]

        def call(method: str, url: str, payload: dict[str, Any]) -> None:
            # The simulator may be gone by now (end of a test); a fake CPO does not retry.
            with contextlib.suppress(httpx.HTTPError):
                httpx.request(
                    method,
                    url,
                    json=payload,
                    headers={"Authorization": encode_token(token)},
                    timeout=5,
                    follow_redirects=False,
                )

        def cdr_for(session: dict[str, Any]) -> dict[str, Any]:
            if version == "2.2.1":
                total: dict[str, Any] = {"excl_vat": 4.00, "incl_vat": 4.84}
            else:
                total = {"before_taxes": 4.00, "taxes": [{"name": "VAT", "percentage": 21, "amount": 0.84}]}
            return {
                "id": "CDR-" + session["id"],
                "country_code": "NL",
                "party_id": "CPO",
                "session_id": session["id"],
                "authorization_reference": session["authorization_reference"],
                "currency": "EUR",
                "total_cost": total,
                "last_updated": "2024-01-01T12:00:00Z",
            }

        def after() -> None:
            time.sleep(0.1)
            call("POST", body["response_url"], {"result": cpo.command_result})
            if command == "START_SESSION" and cpo.charging_mode:
                session = {
                    "id": f"SESS-{len(cpo.sessions_started) + 1}",
                    "country_code": "NL",
                    "party_id": "CPO",
                    "status": "ACTIVE",
                    "authorization_reference": body.get("authorization_reference"),
                    "last_updated": "2024-01-01T10:00:00Z",
                }
                cpo.sessions_started[session["id"]] = session
                call("PUT", f"{base}/sessions/NL/CPO/{session['id']}", session)
                if cpo.charging_mode == "auto":
                    call("POST", f"{base}/cdrs", cdr_for(session))
            if command == "STOP_SESSION" and body.get("session_id") in cpo.sessions_started:
                session = cpo.sessions_started[body["session_id"]]
                call(
                    "PATCH",
                    f"{base}/sessions/NL/CPO/{session['id']}",
                    {"status": "COMPLETED", "last_updated": "2024-01-01T11:00:00Z"},
                )
                call("POST", f"{base}/cdrs", cdr_for(session))

        threading.Thread(target=after, daemon=True).start()
