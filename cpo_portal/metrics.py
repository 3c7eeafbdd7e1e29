"""Prometheus metrics, served at ``/metrics`` to a scraper presenting METRICS_TOKEN.

Counters live in each process; under gunicorn and in Celery workers set PROMETHEUS_MULTIPROC_DIR
(one writable folder per container) so that every worker process's counts add up. Figures read
from the database at scrape time (the outbox per partner) come from collectors that the apps
above register in their ``ready()``.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

from cpo_portal import logs

HTTP_REQUESTS = Counter(
    "cpo_http_requests", "HTTP requests answered, by view and status.", ["view", "method", "status"]
)
HTTP_DURATION = Histogram("cpo_http_request_duration_seconds", "Time to answer a request, by view.", ["view"])
OCPI_CALLS = Counter(
    "cpo_ocpi_calls",
    "OCPI calls by direction (in: partners call us; out: we call partners), module, HTTP and OCPI status.",
    ["direction", "module", "http_status", "ocpi_status"],
)
PUSH_DELIVERIES = Counter("cpo_push_delivery_attempts", "Push delivery attempts by outcome.", ["outcome"])
TASK_DURATION = Histogram(
    "cpo_celery_task_duration_seconds", "Celery task run time, by task and final state.", ["task", "state"]
)
SESSIONS_STARTED = Counter("cpo_charging_sessions_started", "Charging sessions created.")
CDRS_CREATED = Counter("cpo_cdrs_created", "CDRs created.")
ENQUEUE_FAILURES = Counter(
    "cpo_enqueue_failures",
    "Work not enqueued because Redis was unreachable (a periodic job takes it up), by kind of work.",
    ["work"],
)

_collectors: list[Collector] = []


def collector_register(collector: Collector) -> None:
    """Add a collector read at every scrape (apps register theirs in ready())."""
    _collectors.append(collector)


def ocpi_module(url: str) -> str:
    """The OCPI module of a URL: /ocpi/2.2.1/locations/NL/... is "locations"."""
    parts = [part for part in urlsplit(url).path.split("/") if part]
    if "ocpi" in parts:
        parts = parts[parts.index("ocpi") + 1 :]
    if parts and parts[0][:1].isdigit():
        parts = parts[1:]
    if not parts:
        return "unknown"
    # Partners' URLs are theirs: keep the first segment only when it names an OCPI module.
    return parts[0] if parts[0].isidentifier() and parts[0].islower() else "other"


def ocpi_call_observe(*, direction: str, url: str, http_status: int | None, ocpi_status: int | None) -> None:
    OCPI_CALLS.labels(
        direction=direction,
        module=ocpi_module(url),
        http_status=str(http_status or "none"),
        ocpi_status=str(ocpi_status or "none"),
    ).inc()


def exposition() -> bytes:
    """The metrics text: every process's counters (multiprocess mode) and the registered collectors."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    text = generate_latest(registry)
    if _collectors:
        extra = CollectorRegistry(auto_describe=False)
        for collector in _collectors:
            extra.register(collector)
        text += generate_latest(extra)
    return text


def _authorised(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(presented.encode(), token.encode())


class MetricsMiddleware:
    """Serves ``/metrics`` and counts every request by the view that answered it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/metrics":
            # Without METRICS_TOKEN the endpoint does not exist; a wrong token learns nothing more.
            if not settings.METRICS_TOKEN:
                return HttpResponse(status=404)
            if not _authorised(request):
                return HttpResponse(status=401, headers={"WWW-Authenticate": "Bearer"})
            return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
        started = time.monotonic()
        context = logs.request_context.set(
            {
                "request_id": request.headers.get("X-Request-ID", "")[:100],
                "method": request.method or "",
                "path": request.path[:200],
            }
        )
        try:
            response = self.get_response(request)
        finally:
            logs.request_context.reset(context)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match._func_path) if match else "unresolved"
        HTTP_REQUESTS.labels(view=view, method=request.method or "", status=str(response.status_code)).inc()
        HTTP_DURATION.labels(view=view).observe(time.monotonic() - started)
        return response


def task_durations_connect() -> None:
    """Time every Celery task (in workers, and in-process where tasks run eagerly)."""
    from celery.signals import task_postrun, task_prerun

    started: dict[str, float] = {}

    @task_prerun.connect(weak=False)
    def _begin(task_id: str | None = None, **kwargs: object) -> None:
        if task_id:
            started[task_id] = time.monotonic()

    @task_postrun.connect(weak=False)
    def _end(
        task_id: str | None = None, task: object = None, state: str | None = None, **kwargs: object
    ) -> None:
        begun = started.pop(task_id or "", None)
        if begun is not None:
            name = getattr(task, "name", "unknown")
            TASK_DURATION.labels(task=name, state=state or "UNKNOWN").observe(time.monotonic() - begun)


def worker_metrics_connect() -> None:
    """A Celery worker serves its processes' metrics on METRICS_WORKER_PORT once it is ready."""
    from celery.signals import worker_ready

    @worker_ready.connect(weak=False)
    def _serve(**kwargs: object) -> None:
        if settings.METRICS_WORKER_PORT:
            from prometheus_client import start_http_server

            registry = REGISTRY
            if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
                registry = CollectorRegistry()
                multiprocess.MultiProcessCollector(registry)
            start_http_server(settings.METRICS_WORKER_PORT, registry=registry)
