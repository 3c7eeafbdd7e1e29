"""Template tags of the admin's operational notices."""

from __future__ import annotations

from django import template

from cpo_portal.heartbeat import SchedulerStatus, scheduler_status

register = template.Library()


@register.simple_tag
def periodic_jobs_status() -> SchedulerStatus:
    """Whether the periodic jobs (push retries among them) ran lately."""
    return scheduler_status()
