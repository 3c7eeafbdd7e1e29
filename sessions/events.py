"""Events of the charging flow that apps above ``sessions`` act on (each registered in their ready()).

``sessions`` knows no charger gateway and no payments: it sends these inside the transaction that
makes the change, and the receivers decide what to do (enqueue after commit, link rows). Every one
has its receiver: ``chargers.receivers`` and ``payments.receivers``.
"""

from __future__ import annotations

from django.dispatch import Signal

# An accepted command must reach its charger. kwargs: command (ReceivedCommand).
command_accepted = Signal()
# We decided to stop a session (the pre-authorisation limit). kwargs: session (ChargingSession).
session_stop_requested = Signal()
# The CDR of a completed session exists (not credits or corrections). kwargs: cdr (Cdr).
session_cdr_created = Signal()
