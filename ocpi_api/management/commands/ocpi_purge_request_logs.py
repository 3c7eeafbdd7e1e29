"""Delete OCPI request logs older than the retention setting (also run by Celery beat)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ocpi_api.services import request_logs_purge


class Command(BaseCommand):
    help = "Delete OCPI request logs (inbound and outbound) older than OCPI_REQUEST_LOG_RETENTION_DAYS."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Keep this many days instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = request_logs_purge(retention_days=options["days"])
        self.stdout.write(f"Deleted {deleted} request log entries.")
