"""The whole platform as separate processes (devstack.Stack) on free loopback ports, against
the configured database (a fresh PostgreSQL database when DATABASE_URL names one, else a
SQLite file) and Redis (REDIS_URL's server on its own db index, else an embedded one)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from devstack import REPO, Ports, Stack, env_file_value

E2E_REDIS_DB = 14


@dataclass
class RunningStack:
    stack: Stack
    env: dict[str, str]
    api_key: str
    base: Path  # the stack's own folder: data, logs and demo.env

    @property
    def grpc(self) -> str:
        return f"127.0.0.1:{self.stack.ports.grpc}"

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.stack.ports.web}"

    def manage_json(self, code: str) -> object:
        """Runs Python in `manage.py shell` against the stack's database; returns its JSON."""
        res = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout.strip().splitlines()[-1])


def _fresh_database(base: Path) -> tuple[str, str | None]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{base / 'e2e.sqlite3'}", None
    import psycopg

    name = f"dojo_e2e_{uuid.uuid4().hex[:10]}"
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}", name


def _drop_database(url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _redis_env() -> dict[str, str]:
    url = os.environ.get("REDIS_URL")
    if not url:
        return {}
    import redis

    e2e_url = (
        url.rsplit("/", 1)[0] + f"/{E2E_REDIS_DB}"
        if url.count("/") > 2
        else f"{url}/{E2E_REDIS_DB}"
    )
    redis.Redis.from_url(e2e_url).flushdb()
    return {"REDIS_URL": e2e_url}


@pytest.fixture(scope="package")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    base = tmp_path_factory.mktemp("stack")
    db_url, db_name = _fresh_database(base)
    env = {
        "DATABASE_URL": db_url,
        "DOJO_DATA_DIR": str(base / "data"),
        "DOJO_DEMO_ENV_FILE": str(base / "demo.env"),
        "DOJO_OPERATOR_ENV_FILE": str(base / "operator.env"),
        "DOJO_SCHED_INTERVAL_S": "1",
        "PROMETHEUS_MULTIPROC_DIR": str(base / "prom"),
        **_redis_env(),
    }
    if "REDIS_URL" not in env:
        os.environ.pop("REDIS_URL", None)  # the stack starts its own embedded server
    stack = Stack(
        env=env,
        ports=Ports.ephemeral(),
        state_dir=base / "data",
        log_dir=base / "logs",
        quiet_seed=True,
        scrape_interval="1s",
    )
    try:
        full_env = stack.start()
        key = env_file_value(base / "demo.env", "DOJO_API_KEY") or ""
        yield RunningStack(stack, full_env, key, base)
    finally:
        stack.stop()
        logs = base / "logs"
        if logs.exists():  # shown by pytest only when a test failed
            for log in sorted(logs.glob("*.log")):
                print(f"----- {log.name} (last 60 lines)")
                print("\n".join(log.read_text(errors="replace").splitlines()[-60:]))
        if db_name:
            _drop_database(db_url, db_name)
