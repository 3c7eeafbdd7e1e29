from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_save


class ChargingSessionsConfig(AppConfig):
    name = "sessions"
    # The plain label "sessions" belongs to django.contrib.sessions.
    label = "charging_sessions"
    verbose_name = "Charging sessions and CDRs"

    def ready(self) -> None:
        from cpo_portal import metrics
        from sessions.models import Cdr, ChargingSession

        def session_created(created: bool = False, **kwargs: Any) -> None:
            if created:
                metrics.SESSIONS_STARTED.inc()

        def cdr_created(created: bool = False, **kwargs: Any) -> None:
            if created:
                metrics.CDRS_CREATED.inc()

        # Counted for Prometheus (cpo_portal/metrics.py); one receiver each, whatever creates them.
        post_save.connect(
            session_created, sender=ChargingSession, weak=False, dispatch_uid="metrics-sessions"
        )
        post_save.connect(cdr_created, sender=Cdr, weak=False, dispatch_uid="metrics-cdrs")
