"""The database a bench runs on: a fresh PostgreSQL database when DATABASE_URL names a
PostgreSQL server (created for the run, dropped after), else a temporary SQLite file."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def bench_database(base: Path, name: str) -> Iterator[str]:
    """Yields the DATABASE_URL: `{name}_{pid}` on the PostgreSQL server of DATABASE_URL, or
    `base/{name}.sqlite3`."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield f"sqlite:///{base / f'{name}.sqlite3'}"
        return
    import psycopg

    server = url.rsplit("/", 1)[0]
    database = f"{name}_{os.getpid()}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    try:
        yield f"{server}/{database}"
    finally:
        from django.conf import settings

        if settings.configured:  # this process used it (a bench of a live stack may not)
            from django.db import connections

            connections.close_all()
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def setup_django(url: str, base: Path, **env: str) -> None:
    """Points this process at `url` (and `env`), sets Django up and migrates."""
    os.environ["DATABASE_URL"] = url
    os.environ["DOJO_DATA_DIR"] = str(base)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dojocloud.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
