"""Enqueue work after a commit without ever failing the request that committed it.

The database is the record of what is owed (an outbox row, a command not yet sent to its charger);
a Celery task and the fast path's wake-up key in Redis only get the work started sooner. When Redis
is down, the request has committed its change already, so raising would turn a saved change into an
HTTP 500. Instead the failure is logged and counted, and a periodic job finds the work in the
database later (``pushes.tasks.requeue_due``, ``chargers.tasks.charger_commands_send_unsent``).

Failures are counted by kind of work in the Prometheus counter ``cpo_enqueue_failures`` (served at
``/metrics``), which lives in the process (or PROMETHEUS_MULTIPROC_DIR), not in Redis, which is
what is down.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis.exceptions
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerError

from cpo_portal.metrics import ENQUEUE_FAILURES

logger = logging.getLogger(__name__)

# What an unreachable broker or cache raises: Celery's publish wraps connection errors in kombu's
# OperationalError; Django's Redis cache lets redis-py's errors through. Nothing broader: run in
# process (no broker), ``call`` runs the task itself, whose own errors must not pass for these.
UNREACHABLE = (BrokerError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def enqueue_safely(what: str, call: Callable[[], object]) -> bool:
    """Run ``call`` (an ``apply_async``, a wake-up key); False if Redis could not be reached."""
    try:
        call()
    except UNREACHABLE:
        logger.warning(
            "Could not enqueue %s (Redis unreachable); a periodic job takes it up", what, exc_info=True
        )
        ENQUEUE_FAILURES.labels(work=what).inc()
        return False
    return True


def enqueue_on_commit(what: str, call: Callable[[], object]) -> None:
    """After commit, ``enqueue_safely(what, call)``: a broker that is down never fails the commit."""
    transaction.on_commit(lambda: enqueue_safely(what, call))
