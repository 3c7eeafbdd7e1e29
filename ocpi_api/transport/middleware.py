"""Request ids, the envelope for errors raised outside DRF, and the inbound request log.

For every request under ``/ocpi/``:
- ``X-Request-ID`` and ``X-Correlation-ID`` are echoed, or generated when absent
  (transport_and_format, "Unique message IDs");
- a trailing slash is ignored, so ``/ocpi/versions/`` and ``/ocpi/versions`` are the same endpoint
  (no redirect: a redirected POST would lose its body);
- a body over ``API_MAX_BODY_BYTES`` (by its Content-Length) is answered 413 in the envelope
  without being read;
- a 404/500 produced by Django itself (no route, an exception outside a view) becomes an envelope;
- an ``InboundRequestLog`` row is written with bodies cut to ``OCPI_REQUEST_LOG_BODY_LIMIT``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from cpo_portal import metrics
from ocpi_api.formatting import dumps
from ocpi_api.models import InboundRequestLog, log_body
from ocpi_api.transport.envelope import GENERIC_CLIENT_ERROR, GENERIC_SERVER_ERROR, envelope
from ocpi_api.transport.exceptions import body_too_large

logger = logging.getLogger(__name__)

OCPI_PREFIX = "/ocpi/"
_HEADER_ID_LIMIT = 100


def _header_id(request: HttpRequest, name: str) -> str:
    value = request.headers.get(name, "").strip()
    # Keep a partner's id if it is sane; otherwise make our own (ids go into logs and headers).
    if value and len(value) <= _HEADER_ID_LIMIT and value.isprintable():
        return value
    return str(uuid.uuid4())


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class OcpiRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(OCPI_PREFIX):
            return self.get_response(request)
        started = time.monotonic()
        if request.path_info != OCPI_PREFIX and request.path_info.endswith("/"):
            request.path_info = request.path_info.rstrip("/")
        request_id = _header_id(request, "X-Request-ID")
        correlation_id = _header_id(request, "X-Correlation-ID")
        request.ocpi_request_id = request_id  # type: ignore[attr-defined]
        request.ocpi_correlation_id = correlation_id  # type: ignore[attr-defined]
        if _content_length(request) > settings.API_MAX_BODY_BYTES:
            request_body = ""
            response = self._too_large()
        else:
            # Read the body now so that it stays available for the log after DRF has parsed it.
            try:
                request_body = request.body.decode("utf-8", errors="replace")
            except Exception:  # an unreadable body is DRF's to report; the log only loses it
                request_body = ""
            response = self.get_response(request)
        response = self._envelope_django_errors(response)
        response["X-Request-ID"] = request_id
        response["X-Correlation-ID"] = correlation_id
        self._log(request, response, request_body, request_id, correlation_id, started)
        return response

    @staticmethod
    def _too_large() -> HttpResponse:
        error = body_too_large()
        body = envelope(status_code=error.ocpi_status, status_message=str(error.detail))
        response = HttpResponse(
            dumps(body), status=error.status_code, content_type="application/json; charset=utf-8"
        )
        response.ocpi_status = error.ocpi_status  # type: ignore[attr-defined]
        return response

    @staticmethod
    def _envelope_django_errors(response: HttpResponse) -> HttpResponse:
        if response.status_code < 400 or response.get("Content-Type", "").startswith("application/json"):
            return response
        if response.status_code >= 500:
            body = envelope(status_code=GENERIC_SERVER_ERROR, status_message="Internal server error")
        elif response.status_code == 404:
            body = envelope(status_code=GENERIC_CLIENT_ERROR, status_message="Unknown OCPI endpoint")
        else:
            body = envelope(status_code=GENERIC_CLIENT_ERROR, status_message=response.reason_phrase)
        replaced = HttpResponse(
            dumps(body), status=response.status_code, content_type="application/json; charset=utf-8"
        )
        replaced.ocpi_status = body["status_code"]  # type: ignore[attr-defined]
        return replaced

    @staticmethod
    def _log(
        request: HttpRequest,
        response: HttpResponse,
        request_body: str,
        request_id: str,
        correlation_id: str,
        started: float,
    ) -> None:
        data = getattr(response, "data", None)
        ocpi_status = data.get("status_code") if isinstance(data, dict) else None
        ocpi_status = ocpi_status or getattr(response, "ocpi_status", None)
        response_body = "" if response.streaming else log_body(response.content)
        if ocpi_status is None and response_body.startswith("{"):
            try:
                ocpi_status = json.loads(response.content).get("status_code")
            except (ValueError, AttributeError):
                ocpi_status = None
        try:
            InboundRequestLog.objects.create(
                partner=getattr(request, "ocpi_partner", None),
                method=request.method or "",
                url=request.get_full_path()[:2000],
                http_status=response.status_code,
                ocpi_status=ocpi_status if isinstance(ocpi_status, int) else None,
                request_id=request_id,
                correlation_id=correlation_id,
                duration_ms=int((time.monotonic() - started) * 1000),
                request_body=log_body(request_body),
                response_body=response_body,
            )
        except Exception:
            # A failed log write must never turn a good answer into an error.
            logger.exception("Could not record the inbound OCPI request %s", request_id)
        partner = getattr(request, "ocpi_partner", None)
        logger.info(
            "OCPI %s %s answered %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "request_id": request_id,
                "partner": partner.name if partner else "",
                "ocpi_module": metrics.ocpi_module(request.path),
                "status": ocpi_status if isinstance(ocpi_status, int) else None,
                "http_status": response.status_code,
            },
        )
        metrics.ocpi_call_observe(
            direction="in",
            url=request.path,
            http_status=response.status_code,
            ocpi_status=ocpi_status if isinstance(ocpi_status, int) else None,
        )
