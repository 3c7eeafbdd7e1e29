"""The project's own app config: the admin site's titles and, under runserver, the scheduler."""

from __future__ import annotations

import os
import sys

from django.apps import AppConfig


class CpoPortalConfig(AppConfig):
    name = "cpo_portal"
    verbose_name = "CPO portal"

    def ready(self) -> None:
        from django.contrib import admin

        admin.site.site_header = "CPO portal"
        admin.site.site_title = "CPO portal"
        admin.site.index_title = "Back office"
        # The app list down the left of every page takes 300 px from each list's columns; the
        # index and the breadcrumbs lead everywhere, so every list fits a 1440 px window.
        admin.site.enable_nav_sidebar = False

        from cpo_portal import metrics
        from cpo_portal.scheduler import embedded_scheduler_start, embedded_scheduler_wanted

        metrics.task_durations_connect()
        metrics.worker_metrics_connect()

        if embedded_scheduler_wanted(argv=sys.argv, environ=os.environ):
            embedded_scheduler_start()
