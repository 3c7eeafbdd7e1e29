"""Settings for cpo_portal.

Everything that differs between machines comes from the environment (see the README's
Configuration table). With nothing set the portal runs embedded: SQLite under ``var/`` and
Celery tasks executed in-process after commit.
"""

from __future__ import annotations

from pathlib import Path

import django_stubs_ext
import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

# Generic Django classes (ModelAdmin[Location], ...) become subscriptable for our type annotations.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = BASE_DIR / "var"

env = environ.Env()
# Reading a .env file is opt-in so that a stray file never changes a production process.
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))


def _secret(name: str, default: str | None = None) -> str | None:
    """A secret from NAME, or from the file named by NAME_FILE (container secrets)."""
    file_path = env.str(f"{name}_FILE", default="")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return env.str(name, default=default)


DEBUG = env.bool("DJANGO_DEBUG", default=False)

SECRET_KEY = _secret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY (or SECRET_KEY_FILE) must be set when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Who changed what, old and new values, on the objects staff curate (cpo_portal/history.py).
    "simple_history",
    "cpo_portal.apps.CpoPortalConfig",
    "partners",
    "locations",
    "tariffs",
    "sessions.apps.ChargingSessionsConfig",
    "payments",
    "chargers",
    "ocpi_api",
    "finance",
    "pushes",
    "demo",
    # On top of everything: the dashboard reads every app, the staff roles name their permissions.
    "backoffice",
]

MIDDLEWARE = [
    # /healthz and /readyz answer probes before host checks and HTTPS redirects (cpo_portal/health.py).
    "cpo_portal.health.HealthCheckMiddleware",
    # /metrics for Prometheus (with METRICS_TOKEN) and the request counters (cpo_portal/metrics.py).
    "cpo_portal.metrics.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Request ids, envelope for errors and the inbound log of /ocpi/ requests.
    "ocpi_api.transport.middleware.OcpiRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Records the signed-in user on the history rows of curated objects (cpo_portal/history.py).
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "cpo_portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "cpo_portal.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'cpo_portal.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
PREPARE_THRESHOLD = env.int("DATABASE_PREPARE_THRESHOLD", default=2)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and PREPARE_THRESHOLD:
    # The hot paths (an EVSE status change, a batch of pushes, an OCPI page) run the same few
    # statements over and over. Bound on the server, psycopg prepares a statement on its second
    # run and PostgreSQL stops re-planning it: measured, a status change costs 40 % less CPU.
    # DATABASE_PREPARE_THRESHOLD=0 turns this off (needed behind PgBouncer older than 1.21 in
    # transaction pooling mode, which cannot keep prepared statements).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        server_side_binding=True, prepare_threshold=PREPARE_THRESHOLD
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
# Storage is UTC; local time is used only where OCPI asks for it (tariff restrictions use the
# location's own time zone).
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# The back office writes times one way: 2026-12-01 17:05:12 UTC (cpo_portal/formats/en/formats.py).
FORMAT_MODULE_PATH = ["cpo_portal.formats"]

# History pages show old -> new values; going back is an ordinary edit (validated, pushed), never
# a "revert" button that restores a row as it was.
SIMPLE_HISTORY_REVERT_DISABLED = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# The container image serves the collected static files itself (WhiteNoise), so that the portal
# needs no proxy in front of it; behind a proxy or a CDN leave it off and serve STATIC_ROOT there.
SERVE_STATIC_FILES = env.bool("SERVE_STATIC_FILES", default=False)
if SERVE_STATIC_FILES:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

# Security: strict unless DEBUG is on. Behind a TLS-terminating proxy set SECURE_PROXY_SSL_HEADER.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading binds the domain and every subdomain to HTTPS for good: an operator's choice, so
# `check --deploy` does not warn while it is off.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "cpo_portal OCPI API",
    "DESCRIPTION": "OCPI 2.2.1 and 2.3.0 endpoints of the Charge Point Operator.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Celery. Without REDIS_URL tasks run in-process (eagerly) once the transaction commits, so the
# embedded set-up needs no broker. Long retries live in the database, not in broker countdowns.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
# A cache shared by the web and worker processes where Redis runs; per process without it.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
    | {"KEY_PREFIX": "cpo_portal"}
}
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TIMEZONE = "UTC"
# Workers and beat log through LOGGING below (JSON lines in production), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}

# OCPI. The public base URL under which partners reach our OCPI endpoints.
OCPI_BASE_URL = env.str("OCPI_BASE_URL", default="http://127.0.0.1:8000/ocpi")
# Request logs of OCPI calls (both directions): days kept, and characters kept of each body.
OCPI_REQUEST_LOG_RETENTION_DAYS = env.int("OCPI_REQUEST_LOG_RETENTION_DAYS", default=30)
OCPI_REQUEST_LOG_BODY_LIMIT = env.int("OCPI_REQUEST_LOG_BODY_LIMIT", default=4000)
# The largest request body (bytes) the OCPI endpoints and the charger API accept; a larger one is
# answered HTTP 413 without being read. Django's own limit on form and body reads follows it.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=2_621_440)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_MAX_BODY_BYTES
# The most objects one page of an OCPI list returns (X-Limit), and the page size without ?limit=.
OCPI_PAGE_MAX_LIMIT = env.int("OCPI_PAGE_MAX_LIMIT", default=100)
# Outbound OCPI calls: seconds to connect and to wait for an answer.
OCPI_CLIENT_CONNECT_TIMEOUT = env.float("OCPI_CLIENT_CONNECT_TIMEOUT", default=5.0)
OCPI_CLIENT_READ_TIMEOUT = env.float("OCPI_CLIENT_READ_TIMEOUT", default=30.0)
# Whether a partner may have us call loopback, link-local or private addresses during the credentials
# handshake (partners.callback_urls). Off in production; on for tests and a simulator on this machine.
OCPI_ALLOW_PRIVATE_ADDRESSES = env.bool("OCPI_ALLOW_PRIVATE_ADDRESSES", default=False)
CELERY_BEAT_SCHEDULE["ocpi-request-logs-purge"] = {
    "task": "ocpi_api.tasks.request_logs_purge",
    "schedule": 6 * 60 * 60,
}

# The paid charging flow (commands, sessions, CDRs).
# Seconds a START_SESSION may stay PENDING before the session is INVALID and the CommandResult
# says TIMEOUT; also the `timeout` of our CommandResponses.
CHARGING_PENDING_SESSION_TIMEOUT = env.int("CHARGING_PENDING_SESSION_TIMEOUT", default=180)
# The session stops once its cost comes within this amount (in its currency) of the pre-authorised one.
CHARGING_PREAUTH_STOP_MARGIN = env.str("CHARGING_PREAUTH_STOP_MARGIN", default="0.50")
# CommandResult delivery to response_url: attempts in all, and the first back-off in seconds (doubling).
COMMAND_RESULT_MAX_ATTEMPTS = env.int("COMMAND_RESULT_MAX_ATTEMPTS", default=6)
# How the portal reaches chargers (chargers.gateway.ChargerGateway); the default simulates them.
CHARGER_GATEWAY = env.str("CHARGER_GATEWAY", default="chargers.simulated.SimulatedChargerGateway")
# Seconds after which a stop the charger has not carried out is sent again.
CHARGING_STOP_RETRY_SECONDS = env.int("CHARGING_STOP_RETRY_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["charging-pending-sessions-expire"] = {
    "task": "sessions.tasks.pending_sessions_expire",
    "schedule": 30,
}
CELERY_BEAT_SCHEDULE["charging-unsent-commands-send"] = {
    "task": "chargers.tasks.charger_commands_send_unsent",
    "schedule": 15,
}
CELERY_BEAT_SCHEDULE["charging-stops-retry"] = {
    "task": "chargers.tasks.charger_stops_retry",
    "schedule": 30,
}
if CHARGER_GATEWAY == "chargers.simulated.SimulatedChargerGateway":
    CELERY_BEAT_SCHEDULE["simulated-chargers-report"] = {
        "task": "chargers.tasks.simulated_chargers_report",
        "schedule": 30,
    }

# Pushes to partners (pushes/): a transactional outbox delivered by Celery workers.
# Retries: base x factor^(attempt-1) seconds, capped, with jitter; dead-lettered after max age.
PUSH_RETRY_BASE_SECONDS = env.float("PUSH_RETRY_BASE_SECONDS", default=10.0)
PUSH_RETRY_FACTOR = env.float("PUSH_RETRY_FACTOR", default=2.0)
PUSH_RETRY_CAP_SECONDS = env.float("PUSH_RETRY_CAP_SECONDS", default=1800.0)
PUSH_RETRY_MAX_AGE_DAYS = env.float("PUSH_RETRY_MAX_AGE_DAYS", default=5.0)
# A partner that fails: failures of attempts that start within PUSH_FAILURE_WINDOW_SECONDS of the
# last counted one are one observation (a batch that fails together is one failure, not many); after
# three observations in a row the partner is down, its messages wait, and one of them is sent every
# PUSH_PROBE_INTERVAL_SECONDS as a probe. The first answer releases every waiting message at once.
PUSH_FAILURE_WINDOW_SECONDS = env.float("PUSH_FAILURE_WINDOW_SECONDS", default=10.0)
PUSH_PROBE_INTERVAL_SECONDS = env.float("PUSH_PROBE_INTERVAL_SECONDS", default=15.0)
# Seconds to wait for a partner's answer to one push (connect: OCPI_CLIENT_CONNECT_TIMEOUT at most).
PUSH_HTTP_TIMEOUT = env.float("PUSH_HTTP_TIMEOUT", default=10.0)
# How long a claimed push stays with its worker before another may take it over (a killed worker);
# 0: twice PUSH_HTTP_TIMEOUT plus 10 seconds.
PUSH_LEASE_SECONDS = env.float("PUSH_LEASE_SECONDS", default=0.0)
# After a push got no answer, wait at least this long before asking the partner whether it has it.
PUSH_UNKNOWN_OUTCOME_SETTLE_SECONDS = env.float("PUSH_UNKNOWN_OUTCOME_SETTLE_SECONDS", default=60.0)
# EVSE status changes go on their own queue (push_fast), ahead of bulk pushes, and are delivered in
# batches of up to PUSH_FAST_BATCH_SIZE messages, sent concurrently (pushes/fast.py).
PUSH_EVSE_STATUS_FAST_PATH = env.bool("PUSH_EVSE_STATUS_FAST_PATH", default=True)
PUSH_FAST_BATCH_SIZE = env.int("PUSH_FAST_BATCH_SIZE", default=16)
# In a worker, the fast-path task waits this long after a batch that was not full (so that the next
# one fills: a batch costs about the same queries whatever its size) and leaves after
# PUSH_FAST_IDLE_SECONDS without a delivery.
PUSH_FAST_LINGER_SECONDS = env.float("PUSH_FAST_LINGER_SECONDS", default=0.05)
PUSH_FAST_IDLE_SECONDS = env.float("PUSH_FAST_IDLE_SECONDS", default=1.0)
# Worker processes that join a fast-path task whose batches are full: about the cores, less one.
PUSH_FAST_HELPERS = env.int("PUSH_FAST_HELPERS", default=1)
# How often the beat task re-enqueues due retries and expired leases, and how long a task enqueued
# for a message (at its commit, or by the beat) gets before the beat task enqueues another.
PUSH_REQUEUE_INTERVAL_SECONDS = env.float("PUSH_REQUEUE_INTERVAL_SECONDS", default=10.0)
PUSH_FRESH_MESSAGE_GRACE_SECONDS = env.float("PUSH_FRESH_MESSAGE_GRACE_SECONDS", default=60.0)
# Periodic pulls from the PTP (terminals, financial advice confirmations) and reconciliation.
PUSH_PULL_INTERVAL_SECONDS = env.int("PUSH_PULL_INTERVAL_SECONDS", default=15 * 60)
PUSH_RECONCILE_INTERVAL_SECONDS = env.int("PUSH_RECONCILE_INTERVAL_SECONDS", default=6 * 60 * 60)
PUSH_RECONCILE_DAYS = env.int("PUSH_RECONCILE_DAYS", default=7)
CELERY_BEAT_SCHEDULE["pushes-requeue-due"] = {
    "task": "pushes.tasks.requeue_due",
    "schedule": PUSH_REQUEUE_INTERVAL_SECONDS,
}
CELERY_BEAT_SCHEDULE["pushes-pull-from-ptp"] = {
    "task": "pushes.tasks.pull_from_ptp",
    "schedule": PUSH_PULL_INTERVAL_SECONDS,
}
CELERY_BEAT_SCHEDULE["pushes-reconcile"] = {
    "task": "pushes.tasks.reconcile",
    "schedule": PUSH_RECONCILE_INTERVAL_SECONDS,
}

# Finance exports (finance/jobs.py). An export of more CDRs than FINANCE_EXPORT_ASYNC_ROWS runs as a
# Celery job that writes its file under FINANCE_EXPORT_DIR (shared by web and worker processes);
# the admin shows its progress and offers the file for FINANCE_EXPORT_RETENTION_DAYS.
FINANCE_EXPORT_ASYNC_ROWS = env.int("FINANCE_EXPORT_ASYNC_ROWS", default=20_000)
FINANCE_EXPORT_DIR = env.path("FINANCE_EXPORT_DIR", default=str(DATA_DIR / "exports"))
FINANCE_EXPORT_RETENTION_DAYS = env.int("FINANCE_EXPORT_RETENTION_DAYS", default=7)
# Seconds an export job may run (the default task limits suit short tasks, not 200,000 rows).
FINANCE_EXPORT_TIME_LIMIT = env.int("FINANCE_EXPORT_TIME_LIMIT", default=3600)
# Scheduled exports: daily (yesterday) and monthly (last month), days in this time zone, one job per
# "contents:format" entry (contents: cdrs or summary), kept for FINANCE_SCHEDULED_EXPORT_RETENTION_DAYS.
FINANCE_SCHEDULED_EXPORT_TIME_ZONE = env.str("FINANCE_SCHEDULED_EXPORT_TIME_ZONE", default="UTC")
FINANCE_SCHEDULED_EXPORTS = env.list("FINANCE_SCHEDULED_EXPORTS", default=["cdrs:csv", "summary:xlsx"])
FINANCE_SCHEDULED_EXPORT_RETENTION_DAYS = env.int("FINANCE_SCHEDULED_EXPORT_RETENTION_DAYS", default=90)
CELERY_BEAT_SCHEDULE["finance-daily-exports"] = {
    "task": "finance.tasks.scheduled_exports_start",
    "schedule": crontab(hour=1, minute=15),
    "kwargs": {"schedule": "daily"},
}
CELERY_BEAT_SCHEDULE["finance-monthly-exports"] = {
    "task": "finance.tasks.scheduled_exports_start",
    "schedule": crontab(day_of_month=1, hour=1, minute=45),
    "kwargs": {"schedule": "monthly"},
}
CELERY_BEAT_SCHEDULE["finance-export-jobs-maintain"] = {
    "task": "finance.tasks.export_jobs_maintain",
    "schedule": 5 * 60,
}

# The periodic jobs' heartbeat (cpo_portal.tasks.scheduler_heartbeat). The admin and /readyz say
# the scheduler stopped when the last heartbeat is older than SCHEDULER_STALE_SECONDS.
SCHEDULER_HEARTBEAT_SECONDS = env.float("SCHEDULER_HEARTBEAT_SECONDS", default=30.0)
SCHEDULER_STALE_SECONDS = env.float("SCHEDULER_STALE_SECONDS", default=120.0)
CELERY_BEAT_SCHEDULE["scheduler-heartbeat"] = {
    "task": "cpo_portal.tasks.scheduler_heartbeat",
    "schedule": SCHEDULER_HEARTBEAT_SECONDS,
}
# Without a broker there is no Celery beat: `manage.py runserver` runs the schedule above in a
# thread of its serving process (cpo_portal/scheduler.py).
EMBEDDED_SCHEDULER = env.bool("EMBEDDED_SCHEDULER", default=CELERY_TASK_ALWAYS_EAGER)

# Prometheus metrics at /metrics, for a scraper sending `Authorization: Bearer <METRICS_TOKEN>`;
# without a token the endpoint does not exist. A Celery worker serves its own on METRICS_WORKER_PORT
# (0: none); both need PROMETHEUS_MULTIPROC_DIR where several processes count (gunicorn, prefork).
METRICS_TOKEN = _secret("METRICS_TOKEN", default="") or ""
METRICS_WORKER_PORT = env.int("METRICS_WORKER_PORT", default=0)

# Logs go to the console: JSON lines in production (one event per line, with the request id, the
# partner, the OCPI module and status where known), readable text with debug on.
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "cpo_portal.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
