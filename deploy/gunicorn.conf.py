"""gunicorn settings of the web process (``gunicorn --config deploy/gunicorn.conf.py cpo_portal.wsgi``).

Each value can be changed through the environment: WEB_BIND, WEB_CONCURRENCY, WEB_TIMEOUT.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
# Requests wait on PostgreSQL more than on the CPU: two workers per core, at least two.
workers = int(os.environ.get("WEB_CONCURRENCY", str(max(2, 2 * (os.cpu_count() or 1)))))
timeout = int(os.environ.get("WEB_TIMEOUT", "60"))
graceful_timeout = 30
# Workers restart now and then, so that a slow leak never grows for weeks.
max_requests = 2000
max_requests_jitter = 200
# Django logs every request already (JSON in production); gunicorn's own log carries errors only.
accesslog = None
errorlog = "-"
# X-Forwarded-Proto is trusted only when USE_X_FORWARDED_PROTO is set in Django; the proxy in
# front is the only peer of this process inside a container network.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")


def on_starting(server: Any) -> None:
    """Start with an empty metrics folder: counts of a previous run's processes must not linger."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    """A worker that exits leaves its counters to the total, not its live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
