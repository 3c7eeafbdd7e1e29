from __future__ import annotations

from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payments (terminals and captures)"

    def ready(self) -> None:
        # Locations ask whether a terminal serves them; they cannot import this layer.
        from locations import readiness
        from payments.readiness import TerminalAssignment

        readiness.register("payments", TerminalAssignment())
