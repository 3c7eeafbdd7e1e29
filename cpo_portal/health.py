"""Liveness and readiness for load balancers and Kubernetes: ``/healthz`` and ``/readyz``.

Answered by a middleware placed first, before host validation, HTTPS redirects and sessions: a
probe comes over plain HTTP with the pod's address as Host and carries no credentials. The
bodies name each check and its state, never a URL, a host or an error text (no secrets).
"""

from __future__ import annotations

from collections.abc import Callable

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from cpo_portal.heartbeat import scheduler_status


def _database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return "unreachable"
    return "ok"


def _redis() -> str:
    if not settings.REDIS_URL:
        return "not configured"
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        return "unreachable"
    finally:
        client.close()
    return "ok"


def _migrations() -> str:
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError:
        return "unknown"
    return f"{len(plan)} unapplied" if plan else "ok"


def _scheduler() -> str:
    try:
        status = scheduler_status()
    except DatabaseError:
        return "unknown"
    if status.last_beat_at is None:
        return "never ran"
    age = int((timezone.now() - status.last_beat_at).total_seconds())
    return f"last beat {age} s ago" if status.stale else "ok"


def readiness() -> tuple[bool, dict[str, str]]:
    """Whether this process can serve, and the state of each check."""
    checks = {"database": _database(), "redis": _redis()}
    if checks["database"] == "ok":
        checks["migrations"] = _migrations()
        checks["scheduler"] = _scheduler()
    else:
        checks["migrations"] = checks["scheduler"] = "unknown"
    ready = all(state in ("ok", "not configured") for state in checks.values())
    return ready, checks


class HealthCheckMiddleware:
    """Answers ``GET /healthz`` (the process answers) and ``GET /readyz`` (it can serve)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return JsonResponse({"status": "ok"})
        if request.path == "/readyz":
            ready, checks = readiness()
            return JsonResponse(
                {"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503
            )
        return self.get_response(request)
