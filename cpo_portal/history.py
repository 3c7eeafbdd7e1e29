"""History of the objects staff curate: who changed what, with old and new values.

django-simple-history writes one row per save (and per change of a tracked many-to-many) in a
``historical_*`` table beside the model, with the signed-in user taken from the request by its
middleware; the admin's History page of each object (``SimpleHistoryAdmin``) shows the changes.
Updates through ``QuerySet.update()`` and ``bulk_create()`` write no history, so the "touch" of a
parent's last_updated and the bulk paths cost what they did before.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from simple_history.models import HistoricalRecords


def tracked_history(
    *, excluded_fields: Iterable[str] = (), m2m_fields: Iterable[str] = ()
) -> HistoricalRecords:
    """The history of a curated model. ``excluded_fields`` leaves out secrets, and timestamps that
    change on every save (every diff would show them; the history row's own date says when)."""
    return HistoricalRecords(excluded_fields=list(excluded_fields), m2m_fields=list(m2m_fields))


def changes_by_record(records: QuerySet[Any], *, limit: int = 200) -> list[dict[str, Any]]:
    """The latest ``limit`` history rows of several objects, newest first, each with the fields it
    changed against the previous row of the same object (old -> new); a creation lists none."""
    rows = list(records.select_related("history_user").order_by("-history_date", "-history_id")[:limit])
    rows.reverse()
    previous: dict[Any, Any] = {}
    listed: list[dict[str, Any]] = []
    for record in rows:
        prior = previous.get(record.id)
        changes = record.diff_against(prior).changes if prior is not None else []
        previous[record.id] = record
        listed.append({"record": record, "changes": changes})
    listed.reverse()
    return listed
