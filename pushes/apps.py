from __future__ import annotations

from django.apps import AppConfig


class PushesConfig(AppConfig):
    name = "pushes"
    verbose_name = "Pushes to partners"

    def ready(self) -> None:
        # Changes are captured where models are saved, so admin edits and services alike are pushed.
        from pushes import receivers
        from pushes.cdr_delivery import OutboxCdrDelivery
        from sessions import delivery

        receivers.connect()
        delivery.register(OutboxCdrDelivery())

        from cpo_portal import metrics
        from pushes.metrics import OutboxCollector

        metrics.collector_register(OutboxCollector())

        # Readiness for the terminal asks whether partners hold our latest state (locations.readiness).
        from locations import readiness
        from pushes.readiness import PartnerCopyReadiness

        readiness.register("pushes", PartnerCopyReadiness())
