"""Settings for a developer's machine: the normal settings with debug on by default.

``manage.py`` uses these unless DJANGO_SETTINGS_MODULE says otherwise, so management commands
work on a fresh clone without a SECRET_KEY. The production entry points (``wsgi``, ``asgi``,
the Celery app) use ``cpo_portal.settings``, which refuses to start without SECRET_KEY; a
production shell sets ``DJANGO_SETTINGS_MODULE=cpo_portal.settings`` (the container image does).
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_DEBUG", "true")

from .settings import *  # noqa: F403
