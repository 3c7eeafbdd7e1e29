from __future__ import annotations

from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """The back office's front page (the dashboard on the admin index) and its staff roles."""

    name = "backoffice"
    verbose_name = "Back office"
