"""An HTTP client for calling a partner's OCPI endpoints (the handshake, pushes, pulls).

    client = OcpiClient.for_partner(partner)
    answer = client.get(client.endpoint_url("locations", "RECEIVER") + "/NL/CPO/LOC1")
    answer.data  # the envelope's ``data``

Every call presents token B (base64 unless the partner is marked ``send_raw_token``), sends
X-Request-ID / X-Correlation-ID and, where given, the OCPI-from/to routing headers
(transport_and_format, "Message Routing"), has connect and read timeouts, never follows a
redirect, parses the envelope and is recorded as an ``OutboundRequestLog``. Failures raise one of
the ``OcpiClientError`` subclasses below; each carries the log entry.
"""

from __future__ import annotations

import json
import os
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from django.conf import settings

from cpo_portal import metrics
from ocpi_api.models import OutboundRequestLog, log_body
from ocpi_api.transport.tokens import authorization_header

if TYPE_CHECKING:
    from partners.models import Partner


_tls_context: tuple[int, ssl.SSLContext] | None = None


def tls_context() -> ssl.SSLContext:
    """The TLS context (httpx's defaults: certifi's CAs) of this process, shared by every call.

    Building one loads the CA bundle, about 25 ms of CPU; a worker that built one per sending
    thread or per call spent most of its time there. A context is safe to share between threads;
    it is made again after a fork, so no process uses its parent's.
    """
    global _tls_context
    if _tls_context is None or _tls_context[0] != os.getpid():
        _tls_context = (os.getpid(), httpx.create_ssl_context())
    return _tls_context[1]


class OcpiClientError(Exception):
    """A call to a partner failed. ``log`` is the recorded attempt (None if it could not be saved)."""

    def __init__(self, message: str, *, log: OutboundRequestLog | None = None) -> None:
        super().__init__(message)
        self.log = log


class OcpiTransportError(OcpiClientError):
    """No HTTP answer: connection refused, DNS, TLS or a timeout."""


class OcpiHttpError(OcpiClientError):
    """The partner answered with an HTTP status other than 2xx (a redirect included)."""

    def __init__(self, message: str, *, http_status: int, body: str, log: OutboundRequestLog | None) -> None:
        super().__init__(message, log=log)
        self.http_status = http_status
        self.body = body


class OcpiResponseError(OcpiClientError):
    """The answer is not an OCPI envelope (not JSON, or no status_code)."""


class OcpiStatusError(OcpiClientError):
    """The envelope's status_code is not a success (1xxx) code (status_codes.asciidoc)."""

    def __init__(
        self, message: str, *, status_code: int, status_message: str, log: OutboundRequestLog | None
    ) -> None:
        super().__init__(message, log=log)
        self.status_code = status_code
        self.status_message = status_message


@dataclass(frozen=True)
class OcpiAnswer:
    """A successful OCPI answer."""

    http_status: int
    status_code: int
    status_message: str
    data: Any
    timestamp: str | None
    headers: httpx.Headers
    log: OutboundRequestLog | None = field(default=None, compare=False)

    @property
    def next_url(self) -> str | None:
        """The Link rel="next" of a paginated answer (transport_and_format, "Pagination")."""
        link = self.headers.get("Link", "")
        for part in link.split(","):
            target, _, params = part.partition(";")
            if 'rel="next"' in params.replace(" ", "") or "rel=next" in params.replace(" ", ""):
                return target.strip().strip("<>")
        return None


def _is_json_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _not_kept(response: httpx.Response) -> str:
    if not response.content:
        return ""
    content_type = response.headers.get("Content-Type") or "no content type"
    return f"[{content_type[:100]}, {len(response.content)} bytes: not kept, not OCPI JSON]"


class OcpiClient:
    """Calls one partner (or, before the handshake, one versions URL with token A)."""

    def __init__(
        self,
        *,
        token: str,
        partner: Partner | None = None,
        send_raw_token: bool = False,
        timeout: httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
        log_sink: Callable[[OutboundRequestLog], None] | None = None,
    ) -> None:
        self.partner = partner
        self.token = token
        self.send_raw_token = send_raw_token
        self.timeout = timeout or httpx.Timeout(
            settings.OCPI_CLIENT_READ_TIMEOUT, connect=settings.OCPI_CLIENT_CONNECT_TIMEOUT
        )
        self._transport = transport
        # Where each call's log goes: saved at once, or handed to a caller that saves a batch of
        # them in one statement (the push fast path sends from threads that must not touch the DB).
        keep = log_sink or OutboundRequestLog.save

        def keep_and_count(log: OutboundRequestLog) -> None:
            keep(log)
            metrics.ocpi_call_observe(
                direction="out", url=log.url, http_status=log.http_status, ocpi_status=log.ocpi_status
            )

        self._keep_log = keep_and_count

    @classmethod
    def for_partner(cls, partner: Partner, **kwargs: Any) -> OcpiClient:
        """A client presenting the partner's token B."""
        return cls(token=partner.token_b, partner=partner, send_raw_token=partner.send_raw_token, **kwargs)

    def endpoint_url(self, module: str, interface_role: str = "RECEIVER") -> str:
        """The partner's URL for ``module`` in ``interface_role``; KeyError if it has none."""
        if self.partner is None:
            raise KeyError(module)
        endpoint = self.partner.endpoints.filter(module=module, interface_role=interface_role).first()
        if endpoint is None:
            raise KeyError(f"{self.partner} has no {module} {interface_role} endpoint")
        return endpoint.url

    def get(self, url: str, **kwargs: Any) -> OcpiAnswer:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> OcpiAnswer:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> OcpiAnswer:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> OcpiAnswer:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> OcpiAnswer:
        return self.request("DELETE", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        correlation_id: str | None = None,
        from_party: tuple[str, str] | None = None,
        to_party: tuple[str, str] | None = None,
    ) -> OcpiAnswer:
        """Make one call and return its answer, or raise an ``OcpiClientError``.

        ``from_party``/``to_party`` are (country_code, party_id) for the routing headers that every
        module call but credentials and versions carries.
        """
        request_id = str(uuid.uuid4())
        headers = {
            "Authorization": authorization_header(self.token, raw=self.send_raw_token),
            "X-Request-ID": request_id,
            "X-Correlation-ID": correlation_id or str(uuid.uuid4()),
            "Accept": "application/json",
        }
        if from_party:
            headers["OCPI-from-country-code"], headers["OCPI-from-party-id"] = from_party
        if to_party:
            headers["OCPI-to-country-code"], headers["OCPI-to-party-id"] = to_party
        content = None
        if json_body is not None:
            content = json.dumps(json_body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        log = OutboundRequestLog(
            partner=self.partner,
            method=method,
            url=url[:2000],
            request_id=request_id,
            correlation_id=headers["X-Correlation-ID"],
            request_body=log_body(content) if content else "",
        )
        started = time.monotonic()
        try:
            with httpx.Client(
                timeout=self.timeout,
                follow_redirects=False,
                transport=self._transport,
                verify=tls_context(),
            ) as http:
                response = http.request(method, url, params=params, content=content, headers=headers)
        except httpx.HTTPError as error:
            log.duration_ms = int((time.monotonic() - started) * 1000)
            log.error = f"{type(error).__name__}: {error}"[:500]
            self._keep_log(log)
            raise OcpiTransportError(f"{method} {url}: {log.error}", log=log) from error
        log.duration_ms = int((time.monotonic() - started) * 1000)
        log.http_status = response.status_code
        body: Any = None
        try:
            body = response.json()
            parsed = True
        except ValueError:
            body, parsed = None, False
        # Only OCPI JSON is kept: a partner that names our own admin or an internal page as its
        # URL must not get that page's content into our logs (or into an error shown to staff).
        keep = parsed and _is_json_type(response.headers.get("Content-Type", ""))
        log.response_body = log_body(response.content) if keep else _not_kept(response)
        if isinstance(body, dict) and isinstance(body.get("status_code"), int):
            log.ocpi_status = body["status_code"]
        if not 200 <= response.status_code < 300:
            log.error = f"HTTP {response.status_code}"
            self._keep_log(log)
            raise OcpiHttpError(
                f"{method} {url}: HTTP {response.status_code}",
                http_status=response.status_code,
                body=response.text if keep else "",
                log=log,
            )
        if log.ocpi_status is None:
            log.error = "Not an OCPI response envelope"
            self._keep_log(log)
            raise OcpiResponseError(f"{method} {url}: the answer is not an OCPI envelope", log=log)
        status_code = int(body["status_code"])
        status_message = str(body.get("status_message") or "")
        if not 1000 <= status_code < 2000:
            log.error = f"OCPI {status_code}: {status_message}"[:500]
            self._keep_log(log)
            raise OcpiStatusError(
                f"{method} {url}: OCPI status {status_code} {status_message}".strip(),
                status_code=status_code,
                status_message=status_message,
                log=log,
            )
        self._keep_log(log)
        return OcpiAnswer(
            http_status=response.status_code,
            status_code=status_code,
            status_message=status_message,
            data=body.get("data"),
            timestamp=body.get("timestamp"),
            headers=response.headers,
            log=log,
        )
