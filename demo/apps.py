from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Demo data (``manage.py seed_demo``): the top layer, it may import every other app."""

    name = "demo"
    verbose_name = "Demo data"
