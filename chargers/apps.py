from __future__ import annotations

from django.apps import AppConfig


class ChargersConfig(AppConfig):
    name = "chargers"
    verbose_name = "Chargers"

    def ready(self) -> None:
        # Accepted commands and our own stops reach the chargers (sessions.events).
        from chargers import receivers

        receivers.connect()
