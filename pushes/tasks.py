"""Celery tasks of the outbox. Thin: load by id, call a service. Each may run twice safely."""

from __future__ import annotations

from celery import shared_task

from pushes import delivery, fast, pulls, reconciliation, retries


@shared_task(acks_late=True, ignore_result=True)
def partner_copy_deliver(copy_id: int) -> int:
    """Deliver the open messages of one partner's copy of an object, in order."""
    return delivery.partner_copy_deliver(copy_id)


@shared_task(acks_late=True, ignore_result=True)
def deliver_fast(helper_slot: int | None = None) -> int:
    """Deliver due EVSE status changes in batches (``helper_slot``: as a busy fast path's helper)."""
    return fast.deliver_fast(helper_slot=helper_slot)


@shared_task(acks_late=True, ignore_result=True)
def requeue_due() -> int:
    """Beat: enqueue messages whose retry time came and take over expired leases of dead workers."""
    return retries.messages_requeue_due()


@shared_task(acks_late=True, ignore_result=True)
def pull_from_ptp() -> int:
    """Beat: fetch terminals and financial advice confirmations changed since the last pull."""
    return pulls.pull_all()


@shared_task(acks_late=True, ignore_result=True)
def reconcile() -> int:
    """Beat: compare what partners hold of our objects with ours and re-push differences."""
    return reconciliation.reconcile_all()
