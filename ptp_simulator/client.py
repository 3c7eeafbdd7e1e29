"""The simulator as an OCPI client of the CPO: credentials, crawling, commands and payments pushes.

Every call has a timeout, never follows redirects and is recorded in the state's outbound log.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from ptp_simulator import SUPPORTED_VERSIONS
from ptp_simulator.ocpi import (
    JSON_CONTENT_TYPE,
    SUCCESS,
    dumps,
    encode_token,
    format_datetime,
    loads,
    money,
    new_token,
    next_link,
    now_utc,
    price_for_version,
    price_incl_vat,
    version_key,
)
from ptp_simulator.state import Peer, SimState, new_id

# Modules the PTP pulls from the CPO's Sender interfaces.
CRAWLABLE_MODULES = ("locations", "tariffs", "sessions", "cdrs")
COMMANDS = ("START_SESSION", "STOP_SESSION", "UNLOCK_CONNECTOR")


class OcpiClientError(Exception):
    """A call to the CPO failed: transport error, non-2xx, bad JSON or an OCPI error status."""

    def __init__(self, message: str, *, http_status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.body = body


class UnsupportedVersionError(OcpiClientError):
    """The CPO offers no version we speak, or not the one asked for (OCPI status 3002)."""


class MissingEndpointsError(OcpiClientError):
    """The CPO lacks endpoints we require (OCPI status 3003, credentials.asciidoc)."""


@dataclass
class OcpiResponse:
    url: str
    http_status: int
    headers: dict[str, str]
    body: Any

    @property
    def status_code(self) -> int | None:
        return self.body.get("status_code") if isinstance(self.body, dict) else None

    @property
    def data(self) -> Any:
        return self.body.get("data") if isinstance(self.body, dict) else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class CrawlResult:
    module: str
    url: str
    objects: list[Any] = field(default_factory=list)
    pages: int = 0
    total_count: int | None = None  # X-Total-Count of the last page
    total_counts: list[int | None] = field(default_factory=list)
    limits: list[int | None] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    complete: bool = False

    def summary(self) -> dict[str, Any]:
        data = asdict(self)
        data["object_count"] = len(self.objects)
        del data["objects"]
        return data


def _int_header(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


class CpoClient:
    """Calls the CPO we are connected to (``state.peer``) as Payter would."""

    def __init__(self, state: SimState, *, transport: httpx.BaseTransport | None = None) -> None:
        self.state = state
        # One pooled client: building one per call costs an SSL context each time (tens of ms).
        # httpx.Client is safe to share between the server's handler threads.
        self._http = httpx.Client(follow_redirects=False, transport=transport)

    def close(self) -> None:
        self._http.close()

    # -- transport -----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        url: str,
        *,
        token: str,
        json_body: Any = None,
        params: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> OcpiResponse:
        """One OCPI call with the spec's headers; raises OcpiClientError on transport failure."""
        headers = {
            "Authorization": encode_token(token),
            "X-Request-ID": str(uuid.uuid4()),
            "X-Correlation-ID": str(uuid.uuid4()),
            "Accept": JSON_CONTENT_TYPE,
        }
        peer = self.state.get_peer()
        if peer is not None and peer.roles:
            # Routing headers (transport_and_format, 'Message Routing'); harmless peer to peer.
            own = self.state.own_roles()[0]
            headers["OCPI-from-country-code"] = own["country_code"]
            headers["OCPI-from-party-id"] = own["party_id"]
            headers["OCPI-to-country-code"] = str(peer.roles[0].get("country_code", ""))
            headers["OCPI-to-party-id"] = str(peer.roles[0].get("party_id", ""))
        content: bytes | None = None
        if json_body is not None:
            content = dumps(json_body)
            headers["Content-Type"] = JSON_CONTENT_TYPE
        timeout = timeout if timeout is not None else self.state.config.http_timeout
        started = time.monotonic()
        entry: dict[str, Any] = {
            "time": format_datetime(now_utc()),
            "method": method,
            "url": url,
            "params": params,
            "request_id": headers["X-Request-ID"],
            "request_body": json_body,
        }
        try:
            response = self._http.request(
                method, url, headers=headers, content=content, params=params, timeout=timeout
            )
        except httpx.HTTPError as exc:
            entry.update(error=f"{type(exc).__name__}: {exc}", duration_ms=_ms(started))
            self.state.log_outbound(entry)
            raise OcpiClientError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        try:
            body = loads(response.content) if response.content else None
        except ValueError:
            body = response.text
        result = OcpiResponse(
            url=str(response.url),
            http_status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=body,
        )
        entry.update(
            http_status=response.status_code,
            duration_ms=_ms(started),
            response_body=body,
            response_headers=result.headers,
        )
        self.state.log_outbound(entry)
        return result

    def _expect_success(self, response: OcpiResponse, what: str) -> Any:
        if not 200 <= response.http_status < 300:
            raise OcpiClientError(
                f"{what}: HTTP {response.http_status}", http_status=response.http_status, body=response.body
            )
        if response.status_code != SUCCESS:
            raise OcpiClientError(
                f"{what}: OCPI status {response.status_code}",
                http_status=response.http_status,
                body=response.body,
            )
        return response.data

    def _peer(self) -> Peer:
        peer = self.state.get_peer()
        if peer is None:
            raise OcpiClientError("not connected to a CPO: register or connect first")
        return peer

    # -- versions and credentials ----------------------------------------------------------------

    def discover(
        self, versions_url: str, token: str, version: str | None = None
    ) -> tuple[str, str, list[dict[str, Any]]]:
        """GET versions and the details of the chosen version: (version, details URL, endpoints)."""
        versions = self._expect_success(self.request("GET", versions_url, token=token), "GET versions")
        if not isinstance(versions, list):
            raise OcpiClientError("GET versions: data is not a list", body=versions)
        offered = {str(v.get("version")): str(v.get("url")) for v in versions if isinstance(v, dict)}
        if version is not None:
            if version not in offered:
                raise UnsupportedVersionError(
                    f"the CPO does not offer version {version} (offers {sorted(offered)})"
                )
            chosen = version
        else:
            mutual = [v for v in offered if v in SUPPORTED_VERSIONS]
            if not mutual:
                raise UnsupportedVersionError(f"no mutual version: CPO offers {sorted(offered)}")
            chosen = max(mutual, key=version_key)
        details = self._expect_success(
            self.request("GET", offered[chosen], token=token), f"GET version details {chosen}"
        )
        endpoints = details.get("endpoints") if isinstance(details, dict) else None
        if not isinstance(endpoints, list):
            raise OcpiClientError("version details without endpoints", body=details)
        self._check_required(endpoints)
        return chosen, offered[chosen], endpoints

    def _check_required(self, endpoints: list[dict[str, Any]]) -> None:
        """Refuse a CPO without the endpoints the config requires ("locations" or "locations:SENDER")."""
        missing = []
        for requirement in self.state.config.required_cpo_endpoints:
            identifier, _, role = requirement.partition(":")
            if _find_endpoint(endpoints, identifier, role.upper() or None) is None:
                missing.append(requirement)
        if missing:
            raise MissingEndpointsError(f"the CPO lacks required endpoints: {', '.join(missing)}")

    def connect(self, versions_url: str, token: str, version: str | None = None) -> Peer:
        """Use an already exchanged token without a handshake (for crawling a CPO)."""
        chosen, version_url, endpoints = self.discover(versions_url, token, version)
        peer = Peer(
            versions_url=versions_url,
            token=token,
            our_token=None,
            version=chosen,
            version_url=version_url,
            endpoints=endpoints,
            roles=[],
            registered_by="connect",
            registered_at=format_datetime(now_utc()),
        )
        self.state.set_peer(peer)
        return peer

    def _own_credentials(self, token: str) -> dict[str, Any]:
        return {
            "token": token,
            "url": self.state.base_url + "/ocpi/versions",
            "roles": self.state.own_roles(),
        }

    def register(self, versions_url: str, token_a: str, version: str | None = None) -> Peer:
        """Be the credentials Sender: POST our token B and store the CPO's token C.

        credentials.asciidoc, 'Registration': versions and details are fetched with token A,
        the Receiver calls us back with token B before answering, so B is valid beforehand.
        """
        version = version or self.state.config.preferred_version
        chosen, version_url, endpoints = self.discover(versions_url, token_a, version)
        credentials_url = _find_endpoint(endpoints, "credentials", None)
        if credentials_url is None:
            raise OcpiClientError("the CPO's version details have no credentials endpoint")
        token_b = new_token()
        self.state.issue_token(token_b)
        try:
            data = self._expect_success(
                self.request(
                    "POST", credentials_url, token=token_a, json_body=self._own_credentials(token_b)
                ),
                "POST credentials",
            )
        except OcpiClientError:
            self.state.revoke_token(token_b)
            raise
        token_c = str(data.get("token", "")) if isinstance(data, dict) else ""
        if not token_c:
            self.state.revoke_token(token_b)
            raise OcpiClientError("POST credentials: no token in the answer", body=data)
        old = self.state.get_peer()
        if old is not None and old.our_token and old.our_token != token_b:
            self.state.revoke_token(old.our_token)
        peer = Peer(
            versions_url=str(data.get("url") or versions_url),
            token=token_c,
            our_token=token_b,
            version=chosen,
            version_url=version_url,
            endpoints=endpoints,
            roles=list(data.get("roles") or []),
            registered_by="us",
            registered_at=format_datetime(now_utc()),
        )
        self.state.set_peer(peer)
        return peer

    def update_credentials(self, version: str | None = None) -> Peer:
        """PUT new credentials (rotates our token, may switch version) per credentials.asciidoc 'PUT'."""
        peer = self._peer()
        chosen, version_url, endpoints = self.discover(peer.versions_url, peer.token, version or peer.version)
        credentials_url = _find_endpoint(endpoints, "credentials", None)
        if credentials_url is None:
            raise OcpiClientError("the CPO's version details have no credentials endpoint")
        new_b = new_token()
        self.state.issue_token(new_b)
        try:
            data = self._expect_success(
                self.request(
                    "PUT", credentials_url, token=peer.token, json_body=self._own_credentials(new_b)
                ),
                "PUT credentials",
            )
        except OcpiClientError:
            self.state.revoke_token(new_b)
            raise
        self.state.revoke_token(peer.our_token)
        updated = Peer(
            versions_url=str(data.get("url") or peer.versions_url),
            token=str(data.get("token") or peer.token),
            our_token=new_b,
            version=chosen,
            version_url=version_url,
            endpoints=endpoints,
            roles=list(data.get("roles") or peer.roles),
            registered_by=peer.registered_by,
            registered_at=format_datetime(now_utc()),
        )
        self.state.set_peer(updated)
        return updated

    def unregister(self) -> None:
        """DELETE our credentials at the CPO and forget it (credentials.asciidoc, 'DELETE')."""
        peer = self._peer()
        credentials_url = peer.endpoint("credentials")
        if credentials_url is None:
            raise OcpiClientError("no credentials endpoint known for the CPO")
        self._expect_success(self.request("DELETE", credentials_url, token=peer.token), "DELETE credentials")
        self.state.revoke_token(peer.our_token)
        self.state.set_peer(None)

    def get_object(self, module: str, ids: list[str]) -> OcpiResponse:
        """GET one object from a CPO Sender, e.g. locations + [location_id, evse_uid, connector_id].

        Payter pulls the connector the driver picked and then its tariff (Payter README, 'The
        transaction'); this is that pull, returned as answered (no status check).
        """
        peer = self._peer()
        url = peer.endpoint(module, "SENDER")
        if url is None:
            raise OcpiClientError(f"the CPO lists no {module} SENDER endpoint")
        path = "/".join(quote(str(part), safe="") for part in ids)
        return self.request("GET", f"{url.rstrip('/')}/{path}", token=peer.token)

    # -- crawling --------------------------------------------------------------------------------

    def crawl(
        self,
        module: str,
        *,
        date_from: str | None = None,
        date_to: str | None = None,
        limit: int | None = None,
        max_pages: int = 1000,
        max_seconds: float = 120.0,
    ) -> CrawlResult:
        """GET every page of a CPO Sender list, following Link rel="next" and checking X-Total-Count."""
        peer = self._peer()
        url = peer.endpoint(module, "SENDER")
        if url is None:
            raise OcpiClientError(f"the CPO lists no {module} SENDER endpoint")
        if module == "sessions" and date_from is None:
            # date_from is required on the Sessions Sender (mod_sessions.asciidoc, 'GET Method').
            date_from = "1970-01-01T00:00:00Z"
        params: dict[str, str] = {}
        if date_from:
            params["date_from"] = date_from
        if date_to:
            params["date_to"] = date_to
        if limit is not None:
            params["limit"] = str(limit)
        result = CrawlResult(module=module, url=url)
        deadline = time.monotonic() + max_seconds
        visited: set[str] = set()
        next_url: str | None = url
        while next_url is not None:
            if result.pages >= max_pages:
                result.warnings.append(f"stopped after {max_pages} pages")
                break
            if time.monotonic() > deadline:
                result.warnings.append(f"stopped after {max_seconds} s")
                break
            # Only the first page gets our filters: the Link already carries them
            # (transport_and_format.asciidoc, 'Paginated Response').
            first_page = result.pages == 0
            response = self.request(
                "GET", next_url, token=peer.token, params=(params or None) if first_page else None
            )
            data = self._expect_success(response, f"GET {module} page {result.pages + 1}")
            if not isinstance(data, list):
                raise OcpiClientError(f"GET {module}: data is not a list", body=data)
            result.pages += 1
            result.objects.extend(data)
            total = _int_header(response.header("X-Total-Count"))
            x_limit = _int_header(response.header("X-Limit"))
            if total is None:
                result.warnings.append(f"page {result.pages}: no X-Total-Count")
            elif result.total_count is not None and total != result.total_count:
                result.warnings.append(
                    f"page {result.pages}: X-Total-Count changed {result.total_count} -> {total}"
                )
            if x_limit is None:
                result.warnings.append(f"page {result.pages}: no X-Limit")
            elif len(data) > x_limit:
                result.warnings.append(f"page {result.pages}: {len(data)} objects exceed X-Limit {x_limit}")
            result.total_count = total if total is not None else result.total_count
            result.total_counts.append(total)
            result.limits.append(x_limit)
            visited.add(response.url)
            next_url = next_link(response.header("Link"), response.url)
            if next_url is not None and next_url in visited:
                result.warnings.append(f"Link next loops back to {next_url}")
                break
            if next_url is not None and not data:
                result.warnings.append("empty page with a Link next; stopped")
                break
        else:
            result.complete = True
        if result.complete and result.total_count is not None and result.total_count != len(result.objects):
            result.warnings.append(
                f"received {len(result.objects)} objects but X-Total-Count is {result.total_count}"
            )
        self.state.record_crawl(module, result.summary())
        return result

    # -- commands --------------------------------------------------------------------------------

    def send_command(self, command: str, fields: dict[str, Any]) -> dict[str, Any]:
        """POST a command with a response_url of ours; returns the command record.

        mod_commands.asciidoc, 'Interfaces and endpoints': the unique id in response_url is how
        the asynchronous CommandResult is matched to the request.
        """
        command = command.upper()
        if command not in COMMANDS:
            raise OcpiClientError(f"unsupported command {command}; one of {', '.join(COMMANDS)}")
        peer = self._peer()
        base = peer.endpoint("commands", "RECEIVER") or peer.endpoint("commands")
        if base is None:
            raise OcpiClientError("the CPO lists no commands RECEIVER endpoint")
        command_id = new_id()
        body = dict(fields)
        body["response_url"] = f"{self.state.base_url}/ocpi/{peer.version}/commands/{command}/{command_id}"
        self.state.new_command(command, body, command_id)
        url = base.rstrip("/") + "/" + command
        try:
            response = self.request("POST", url, token=peer.token, json_body=body)
        except OcpiClientError as exc:
            self.state.update_command(command_id, error=str(exc))
        else:
            self.state.update_command(command_id, http_status=response.http_status, response=response.body)
        return self.state.get_command(command_id) or {}

    def ad_hoc_token(self, uid: str | None = None) -> dict[str, Any]:
        """The Token a Payter terminal sends in START_SESSION: AD_HOC_USER, never whitelisted."""
        own = self.state.own_roles()[0]
        uid = uid or ("PTP-" + uuid.uuid4().hex[:24])
        return {
            "country_code": own["country_code"],
            "party_id": own["party_id"],
            "uid": uid,
            "type": "AD_HOC_USER",
            "contract_id": uid,
            "issuer": own["business_details"]["name"],
            "valid": True,
            # mod_tokens.asciidoc recommends NEVER for AD_HOC_USER: no realtime authorisation.
            "whitelist": "NEVER",
            "last_updated": format_datetime(now_utc()),
        }

    def start_session(
        self,
        *,
        location_id: str,
        evse_uid: str | None = None,
        connector_id: str | None = None,
        authorization_reference: str | None = None,
        token: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "token": token or self.ad_hoc_token(),
            "location_id": location_id,
            "authorization_reference": authorization_reference or ("pp-" + uuid.uuid4().hex[:20]),
        }
        if evse_uid is not None:
            fields["evse_uid"] = evse_uid
        if connector_id is not None:
            fields["connector_id"] = connector_id
        return self.send_command("START_SESSION", fields)

    def stop_session(self, *, session_id: str) -> dict[str, Any]:
        return self.send_command("STOP_SESSION", {"session_id": session_id})

    def unlock_connector(self, *, location_id: str, evse_uid: str, connector_id: str) -> dict[str, Any]:
        return self.send_command(
            "UNLOCK_CONNECTOR",
            {"location_id": location_id, "evse_uid": evse_uid, "connector_id": connector_id},
        )

    def wait_for_command_result(self, command_id: str, timeout: float = 10.0) -> dict[str, Any] | None:
        """Poll our own state until the CPO has POSTed the CommandResult, or the timeout passes."""
        deadline = time.monotonic() + timeout
        while True:
            record = self.state.get_command(command_id)
            if record is not None and record.get("result") is not None:
                return record
            if time.monotonic() >= deadline:
                return record
            time.sleep(0.05)

    def wait_for_received(self, module: str, timeout: float, **fields: str) -> dict[str, Any] | None:
        """Poll until the CPO has pushed an object with these field values (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.state.find_received(module, **fields)
            if found is not None or time.monotonic() >= deadline:
                return found
            time.sleep(0.05)

    def run_transaction(
        self,
        *,
        location_id: str,
        evse_uid: str | None = None,
        connector_id: str | None = None,
        authorization_reference: str | None = None,
        stop_after: float | None = None,
        capture_status_code: str = "SUCCESS",
        vat_percentage: Decimal = Decimal("21"),
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """Play one card payment as Payter does (Payter README, 'The transaction').

        START_SESSION, wait for its CommandResult; optionally STOP_SESSION ``stop_after`` seconds
        after the CPO has pushed the session; wait for the CDR; then POST a FAC for the CDR's
        total_cost. The whole run takes at most ``timeout`` seconds (plus the HTTP calls'
        own timeouts); the steps done so far are returned whatever happens.
        """
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(deadline - time.monotonic(), 0.0)

        reference = authorization_reference or ("pp-" + uuid.uuid4().hex[:20])
        steps: dict[str, Any] = {"authorization_reference": reference, "complete": False}
        start = self.start_session(
            location_id=location_id,
            evse_uid=evse_uid,
            connector_id=connector_id,
            authorization_reference=reference,
        )
        steps["start"] = self.wait_for_command_result(start["id"], left()) if start.get("id") else start
        if not steps["start"] or (steps["start"].get("result") or {}).get("result") != "ACCEPTED":
            steps["error"] = "START_SESSION was not accepted"
            return steps
        if stop_after is not None:
            session = self.wait_for_received("sessions", left(), authorization_reference=reference)
            if session is None:
                steps["error"] = "no session with this authorization_reference was pushed"
                return steps
            time.sleep(min(stop_after, left()))
            stop = self.stop_session(session_id=str(session["id"]))
            steps["stop"] = self.wait_for_command_result(stop["id"], left()) if stop.get("id") else stop
        cdr = self.wait_for_received("cdrs", left(), authorization_reference=reference)
        if cdr is None:
            steps["error"] = "no CDR with this authorization_reference was posted"
            return steps
        steps["cdr_id"] = cdr.get("id")
        amount = price_incl_vat(cdr.get("total_cost") or {})
        if amount is None:
            steps["error"] = "the CDR has no total_cost"
            return steps
        steps["fac"] = self.post_financial_advice_confirmation(
            authorization_reference=reference,
            amount_incl_vat=amount,
            vat_percentage=vat_percentage,
            currency=str(cdr.get("currency") or "EUR"),
            capture_status_code=capture_status_code,
        )
        steps["complete"] = True
        return steps

    # -- payments --------------------------------------------------------------------------------

    def _payments_url(self, sub: str) -> str:
        """The CPO's Receiver URL for terminals or financial-advice-confirmations.

        The spec names the module `payments` (mod_payments.asciidoc) and builds the object URLs
        under it (`.../payments/terminals/`); a CPO may list the sub-endpoints by name instead.
        """
        peer = self._peer()
        direct = peer.endpoint(sub, "RECEIVER") or peer.endpoint(sub)
        if direct is not None:
            return direct.rstrip("/")
        base = peer.endpoint("payments", "RECEIVER") or peer.endpoint("payments")
        if base is None:
            raise OcpiClientError(f"the CPO lists neither {sub} nor payments RECEIVER endpoints")
        return base.rstrip("/") + "/" + sub

    def post_financial_advice_confirmation(
        self,
        *,
        authorization_reference: str,
        amount_incl_vat: Decimal,
        vat_percentage: Decimal = Decimal("21"),
        currency: str = "EUR",
        capture_status_code: str = "SUCCESS",
        capture_status_message: str | None = None,
        eft_data: list[str] | None = None,
        fac_id: str | None = None,
    ) -> dict[str, Any]:
        """Create a FAC we own and POST it to the CPO in the price shape of the version spoken."""
        peer = self._peer()
        incl = money(amount_incl_vat)
        excl = money(incl / (1 + Decimal(vat_percentage) / 100))
        fac: dict[str, Any] = {
            "id": fac_id or new_id(),
            "authorization_reference": authorization_reference,
            "total_costs": price_for_version(
                peer.version, excl_vat=excl, incl_vat=incl, vat_percentage=Decimal(vat_percentage)
            ),
            "currency": currency,
            "eft_data": eft_data
            if eft_data is not None
            else ["Mastercard", "Nr: **** **** **** 1234", f"Amount: {currency} {incl}"],
            "capture_status_code": capture_status_code,
            "last_updated": format_datetime(now_utc()),
        }
        if capture_status_message:
            fac["capture_status_message"] = capture_status_message
        self.state.put_fac(fac)
        url = self._payments_url("financial-advice-confirmations")
        response = self.request("POST", url, token=peer.token, json_body=fac)
        return {"object": fac, "http_status": response.http_status, "response": response.body}

    def push_terminal(self, terminal: dict[str, Any], method: str = "POST") -> dict[str, Any]:
        """POST a terminal we own to the CPO (or PATCH/PUT it at ``terminals/{id}``)."""
        peer = self._peer()
        method = method.upper()
        stored = dict(terminal)
        stored.setdefault("terminal_id", new_id())
        stored.setdefault("last_updated", format_datetime(now_utc()))
        current = self.state.get_terminal(str(stored["terminal_id"])) or {}
        self.state.put_terminal({**current, **stored})
        url = self._payments_url("terminals")
        if method != "POST":
            url = f"{url}/{stored['terminal_id']}"
        response = self.request(method, url, token=peer.token, json_body=stored)
        return {"object": stored, "http_status": response.http_status, "response": response.body}


def _find_endpoint(endpoints: list[dict[str, Any]], identifier: str, role: str | None) -> str | None:
    for item in endpoints:
        if item.get("identifier") == identifier and (role is None or str(item.get("role")).upper() == role):
            return str(item.get("url"))
    return None


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
