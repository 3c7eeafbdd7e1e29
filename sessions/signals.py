"""Signals sent after commit when a session changes or a CDR is created.

Receivers (the push outbox) deliver them to partners: Session PUT/PATCH and CDR POST
(mod_sessions, mod_cdrs Receiver interfaces). They are sent from ``notify_session_changed`` and
``notify_cdr_created`` in ``sessions.services`` and carry the primary key, never an instance
loaded in another transaction.
"""

from __future__ import annotations

from django.dispatch import Signal

# kwargs: session_pk (int), created (bool)
session_changed = Signal()
# kwargs: cdr_pk (int)
cdr_created = Signal()
