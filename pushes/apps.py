from __future__ import annotations

from django.apps import AppConfig


class PushesConfig(AppConfig):
    name = "pushes"
    verbose_name = "Pushes to partners"

    def ready(self) -> None:
        # Changes are captured where models are saved, so admin edits and services alike are pushed.
        from partners import outbox
        from pushes import receivers
        from pushes.outbox import PushOutbox

        receivers.connect()
        # What enqueues a delivery (pushes.wakeups) finds the Celery tasks without importing them.
        from pushes import tasks, wakeups

        wakeups.tasks_register(
            partner_copy_deliver=tasks.partner_copy_deliver, deliver_fast=tasks.deliver_fast
        )
        # What the domain tells the outbox beyond model saves (partners.outbox).
        outbox.register(PushOutbox())

        from cpo_portal import metrics
        from pushes.metrics import OutboxCollector

        metrics.collector_register(OutboxCollector())

        # Readiness for the terminal asks whether partners hold our latest state (locations.readiness).
        from locations import readiness
        from pushes.readiness import PartnerCopyReadiness

        readiness.register("pushes", PartnerCopyReadiness())
