"""Waking workers: enqueue a copy's delivery after commit, and the fast path's wake-up and help keys.

The Celery tasks themselves live in ``pushes.tasks``, which imports the delivery code; they are
registered here in ``PushesConfig.ready()`` (``tasks_register``), so that what enqueues them does
not import them back.
"""

from __future__ import annotations

from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache

from cpo_portal.enqueue import enqueue_on_commit, enqueue_safely

FAST_QUEUE = "push_fast"
# Kinds of enqueue counted by cpo_portal.enqueue when Redis is down.
PUSH_DELIVERY = "push delivery"
PUSH_FAST_PATH = "push fast path"
DEFAULT_QUEUE = "celery"
FAST_WAKE_KEY = "pushes:fast-path-wake"
FAST_HELP_KEY = "pushes:fast-path-help"
FAST_WAKE_SECONDS = 5
TASK_HELP_SECONDS = 30  # longer than a helper's run (pushes.fast.TASK_BUDGET_SECONDS)


class DeliveryTask(Protocol):
    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> Any: ...


_tasks: dict[str, DeliveryTask] = {}


def tasks_register(*, partner_copy_deliver: DeliveryTask, deliver_fast: DeliveryTask) -> None:
    """The Celery tasks that deliver (pushes.tasks), registered in PushesConfig.ready()."""
    _tasks["partner_copy_deliver"] = partner_copy_deliver
    _tasks["deliver_fast"] = deliver_fast


def _task(name: str) -> DeliveryTask:
    try:
        return _tasks[name]
    except KeyError:
        raise RuntimeError(f"The {name} task is not registered: is the pushes app installed?") from None


def partner_copy_enqueue_after_commit(copy_id: int, *, queue: str = DEFAULT_QUEUE) -> None:
    """After commit, have a worker deliver the open messages of one copy, in order."""
    enqueue_on_commit(
        PUSH_DELIVERY, lambda: _task("partner_copy_deliver").apply_async((copy_id,), queue=queue)
    )


def partner_copy_enqueue_now(copy_id: int) -> bool:
    """Enqueue a copy's delivery (outside any transaction); False when the broker is down."""
    return enqueue_safely(
        PUSH_DELIVERY, lambda: _task("partner_copy_deliver").apply_async((copy_id,), queue=DEFAULT_QUEUE)
    )


def fast_path_wake() -> None:
    """After a commit: have a worker deliver the due EVSE status changes (pushes.fast), unless one
    is queued or watching already.

    The wake-up key is set while a fast-path task is queued or running: that task looks at the queue
    again after every commit that found the key set, so a stream of changes costs one task, whose
    batches fill up. A task deletes the key before its last look (``fast_path_unwatched``), so no
    commit falls between two tasks. The key expires, so a wake-up lost with a broker or a killed
    worker costs a few seconds, not a change.
    """

    def wake() -> None:
        if tasks_run_in_process() or cache.add(FAST_WAKE_KEY, True, timeout=FAST_WAKE_SECONDS):
            _task("deliver_fast").apply_async(queue=FAST_QUEUE)

    # Redis down (the key and the broker): the beat task finds the due status changes later.
    enqueue_safely(PUSH_FAST_PATH, wake)


def fast_path_help() -> None:
    """A fast-path task whose batches are full asks another worker process to join (one core each).

    At most ``PUSH_FAST_HELPERS`` help at a time, each holding a slot's key until it leaves
    (``fast_path_helped``): more processes than cores only contend for the same rows. A slot's key
    expires should its helper die.
    """
    if tasks_run_in_process():
        return
    for slot in range(settings.PUSH_FAST_HELPERS):
        if cache.add(f"{FAST_HELP_KEY}:{slot}", True, timeout=TASK_HELP_SECONDS):
            _task("deliver_fast").apply_async(queue=FAST_QUEUE, kwargs={"helper_slot": slot})
            return


def fast_path_helped(slot: int) -> None:
    """A helper left its slot: a busy task may call for another one."""
    cache.delete(f"{FAST_HELP_KEY}:{slot}")


def fast_path_watching() -> None:
    """A fast-path task runs and will look at the queue again: commits need not wake another.

    Called as the task starts and then every few seconds, before the key expires.
    """
    cache.set(FAST_WAKE_KEY, True, timeout=FAST_WAKE_SECONDS)


def fast_path_unwatched() -> None:
    """A fast-path task is about to leave: a commit from now on wakes a new one. The task looks at
    the queue once more after this, for the changes committed before."""
    cache.delete(FAST_WAKE_KEY)


def tasks_run_in_process() -> bool:
    """True in the embedded set-up and the tests: a task runs at once, in the caller's process."""
    from cpo_portal.celery import app

    return bool(app.conf.task_always_eager)
