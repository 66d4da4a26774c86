"""Real Redis, real Celery worker processes, the configured test database.

Workers are subprocesses: they get the test database through DATABASE_URL (SQLite test
databases are files for exactly this reason) and the test's Redis through REDIS_URL.
"""

from __future__ import annotations

import signal
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings as django_settings

from devstack import REPO, worker_argv


def database_url() -> str:
    db = django_settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db.get("USER") or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = f"{auth}@" if auth else ""
    return (
        f"postgresql://{host}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


@dataclass
class Workers:
    env: dict[str, str]
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self, queue: str = "dojo", env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """A worker for `queue`; `env` adds to (or overrides) the fixture's environment."""
        name = f"w{len(self.procs)}-{uuid.uuid4().hex[:6]}@test"
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the proc
        proc = subprocess.Popen(
            worker_argv(queue, name, alone=True),
            cwd=REPO,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.log_dir.glob("*.log"))
        )

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
