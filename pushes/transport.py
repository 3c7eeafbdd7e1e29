"""One outbound OCPI call for the outbox, and what its outcome means for delivery.

``send(partner, method, url, body)`` goes through ``ocpi_api.client.OcpiClient``: token B, timeouts
on every call, no redirects followed, the envelope read, and every call recorded as an
``OutboundRequestLog``. The reply is classified here so the outbox can tell
"delivered" from "failed, retry" from "no answer: the partner may have it" (which matters for CDRs).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from django.conf import settings

from ocpi_api.client import (
    OcpiClient,
    OcpiHttpError,
    OcpiResponseError,
    OcpiStatusError,
    OcpiTransportError,
    tls_context,
)
from ocpi_api.models import OutboundRequestLog
from partners.models import Partner


@dataclass
class Reply:
    """What came back from one call; ``answered`` is False when the outcome is unknown."""

    method: str
    url: str
    http_status: int | None = None
    ocpi_status: int | None = None
    data: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    error: str = ""
    answered: bool = True
    sent: bool = True
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        """HTTP 2xx with an OCPI 1xxx status (or no envelope at all, which some receivers send)."""
        return (
            self.http_status is not None
            and 200 <= self.http_status < 300
            and (self.ocpi_status is None or 1000 <= self.ocpi_status < 2000)
        )


class _PooledTransport(httpx.HTTPTransport):
    """A connection pool kept open across calls (one per thread of each worker process).

    ``OcpiClient`` opens and closes an ``httpx.Client`` per call; given this transport the client
    does not close the pool, so keep-alive connections to a partner are reused (hundreds of pushes
    a second to one partner need that). The TLS context is the process's shared one.
    """

    def __exit__(self, *args: object) -> None:
        return None

    def close(self) -> None:
        return None


_local = threading.local()


def pooled_transport() -> _PooledTransport:
    """This thread's connection pool. Made lazily in each process and thread: a pool must not
    cross a fork (prefork workers), and sharing one between the fast path's sending threads let
    one thread's clean-up close a socket another was reading."""
    transport = getattr(_local, "transport", None)
    if transport is None or _local.pid != os.getpid():
        transport = _PooledTransport(verify=tls_context(), limits=httpx.Limits(max_keepalive_connections=20))
        _local.transport, _local.pid = transport, os.getpid()
        atexit.register(httpx.HTTPTransport.close, transport)  # the real close, at process exit
    return transport


def send(
    partner: Partner,
    method: str,
    url: str,
    body: Any = None,
    *,
    timeout: float | None = None,
    log_sink: Callable[[OutboundRequestLog], None] | None = None,
) -> Reply:
    """Make one call to the partner through the OCPI client (which logs it); never raises.

    With ``log_sink`` the call's log is handed over instead of saved, and the call touches no database.
    """
    seconds = timeout if timeout is not None else settings.PUSH_HTTP_TIMEOUT
    client = OcpiClient.for_partner(
        partner,
        timeout=httpx.Timeout(seconds, connect=min(seconds, settings.OCPI_CLIENT_CONNECT_TIMEOUT)),
        transport=pooled_transport(),
        log_sink=log_sink,
    )
    reply = Reply(method=method, url=url)
    started = time.monotonic()
    try:
        answer = client.request(method, url, json_body=body)
    except OcpiTransportError as exc:
        cause = exc.__cause__
        # Nothing reached the partner on a refused connection: safe to try again without asking.
        reply.sent = not isinstance(cause, httpx.ConnectError | httpx.ConnectTimeout)
        reply.answered = False
        reply.error = str(exc)[:500]
    except OcpiHttpError as exc:
        reply.http_status = exc.http_status
        reply.ocpi_status = exc.log.ocpi_status if exc.log else None
        reply.error = (exc.body or str(exc))[:500]
    except OcpiStatusError as exc:
        reply.http_status = exc.log.http_status if exc.log else 200
        reply.ocpi_status = exc.status_code
        reply.error = f"OCPI {exc.status_code}: {exc.status_message}"[:500]
    except OcpiResponseError as exc:
        # 2xx without an envelope: accepted, although not in the OCPI way.
        reply.http_status = exc.log.http_status if exc.log else 200
        reply.error = str(exc)[:500]
    else:
        reply.http_status = answer.http_status
        reply.ocpi_status = answer.status_code
        reply.data = answer.data
        reply.headers = {name.lower(): value for name, value in answer.headers.items()}
    reply.duration_ms = int((time.monotonic() - started) * 1000)
    return reply
