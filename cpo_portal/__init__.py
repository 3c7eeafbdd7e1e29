"""cpo_portal: the back office of a Charge Point Operator that takes card payments over OCPI."""

from __future__ import annotations

from .celery import app as celery_app

__all__ = ("celery_app",)
