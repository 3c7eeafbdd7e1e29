"""The benchmarks' PostgreSQL database: created from DATABASE_URL when it does not exist yet."""

from __future__ import annotations

import os
from urllib.parse import urlsplit


def ensure_database() -> None:
    """Create the benchmark database when it does not exist yet (PostgreSQL only)."""
    import psycopg

    url = urlsplit(os.environ["DATABASE_URL"])
    if not url.scheme.startswith("postgres"):
        raise SystemExit("The benchmark runs on PostgreSQL: set DATABASE_URL=postgres://...")
    name = url.path.lstrip("/")
    with psycopg.connect(url._replace(path="/postgres").geturl(), autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')  # the name is from our own DATABASE_URL
