"""The project's own app config: it carries the admin site's titles."""

from __future__ import annotations

from django.apps import AppConfig


class CpoPortalConfig(AppConfig):
    name = "cpo_portal"
    verbose_name = "CPO portal"

    def ready(self) -> None:
        from django.contrib import admin

        admin.site.site_header = "CPO portal"
        admin.site.site_title = "CPO portal"
        admin.site.index_title = "Back office"
