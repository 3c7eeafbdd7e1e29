"""Settings for the test suite: the normal settings with a fixed key and no TLS redirect."""

from __future__ import annotations

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Tasks run in-process unless a test starts a real worker against Redis.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
# Partners in the tests (the PTP simulator, small HTTP peers) listen on loopback.
os.environ.setdefault("OCPI_ALLOW_PRIVATE_ADDRESSES", "true")
# Readable log lines in test output (production settings log JSON).
os.environ.setdefault("LOG_FORMAT", "text")

from .settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
