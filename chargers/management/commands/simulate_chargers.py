"""Drive the simulated chargers without Celery beat (the embedded ``make run`` set-up).

Every ``--interval`` seconds: each ACTIVE session on a simulated charger reports a meter value at
the charger's power, PENDING sessions past CHARGING_PENDING_SESSION_TIMEOUT expire, and unanswered
stops are sent again. With a broker, the beat schedule runs the same tasks instead.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from chargers.services import charger_stops_resend
from chargers.simulated import simulated_chargers_tick
from sessions.lifecycle import sessions_expire_pending

SIMULATED_GATEWAY = "chargers.simulated.SimulatedChargerGateway"


class Command(BaseCommand):
    help = "Report meter values for sessions on simulated chargers, and expire stuck PENDING sessions."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between rounds.")
        parser.add_argument("--once", action="store_true", help="Run one round and exit.")

    def handle(self, *args: Any, interval: float, once: bool, **options: Any) -> None:
        if settings.CHARGER_GATEWAY != SIMULATED_GATEWAY:
            raise CommandError(f"CHARGER_GATEWAY is {settings.CHARGER_GATEWAY}; nothing here is simulated.")
        if interval <= 0:
            raise CommandError("--interval must be positive.")
        while True:
            reported = simulated_chargers_tick()
            expired = sessions_expire_pending()
            resent = charger_stops_resend()
            self.stdout.write(
                f"{reported} meter value(s) reported, {expired} pending session(s) expired, "
                f"{resent} stop(s) sent again"
            )
            if once:
                return
            time.sleep(interval)
