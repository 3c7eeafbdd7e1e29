from __future__ import annotations

from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "finance"
    verbose_name = "Finance"

    def ready(self) -> None:
        # Registers the export tasks in every process, so that finance.jobs finds them by name.
        from finance import tasks  # noqa: F401
