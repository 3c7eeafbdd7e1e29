"""Redis unreachable: the Celery broker and the cache pointed at a closed port while a block runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cpo_portal.celery import app as celery_app

# Nothing listens on port 1 of the loopback: every connection is refused at once.
CLOSED_PORT_URL = "redis://127.0.0.1:1/0"


def _forget_broker_connections() -> None:
    # Dropped, not closed: kombu keeps one pool per broker URL for the process, reused once restored.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker_unreachable(settings: Any) -> Iterator[None]:
    """Tasks go to the broker (not run in process) and the broker and the cache refuse connections."""
    saved_url, saved_eager = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    saved_caches = settings.CACHES
    celery_app.conf.broker_url = CLOSED_PORT_URL
    celery_app.conf.task_always_eager = False
    _forget_broker_connections()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CLOSED_PORT_URL,
            "KEY_PREFIX": "cpo_portal",
        }
    }
    try:
        yield
    finally:
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved_url, saved_eager
        _forget_broker_connections()
        settings.CACHES = saved_caches
