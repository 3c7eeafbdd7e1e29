from __future__ import annotations

from django.apps import AppConfig


class ChargingSessionsConfig(AppConfig):
    name = "sessions"
    # The plain label "sessions" belongs to django.contrib.sessions.
    label = "charging_sessions"
    verbose_name = "Charging sessions and CDRs"
