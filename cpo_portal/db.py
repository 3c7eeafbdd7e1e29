"""Database helpers shared by the apps."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, models, transaction

M = TypeVar("M", bound=models.Model)


def insert_or_lock_winner(*, insert: Callable[[], object], existing: models.QuerySet[M]) -> M | None:
    """Run ``insert`` in a savepoint; None when it inserted the row.

    When a concurrent first write of the same key won (a unique constraint refused ours),
    return the winner's row, locked for update, so the caller applies its write as an update
    instead of failing. Under READ COMMITTED the insert waits for the winner to commit, so the
    row is visible to the next statement. Any other integrity error is raised.
    """
    try:
        with transaction.atomic():
            insert()
    except IntegrityError:
        winner = existing.select_for_update().first()
        if winner is None:
            raise
        return winner
    return None
