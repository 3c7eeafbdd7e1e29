from __future__ import annotations

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments (terminals and captures)"

    def ready(self) -> None:
        # Captures that arrived before their CDR are linked when it is created (sessions.events).
        from payments import receivers

        receivers.connect()

        # Locations ask whether a terminal serves them; they cannot import this layer.
        from locations import readiness
        from payments.readiness import TerminalAssignment

        readiness.register("payments", TerminalAssignment())
