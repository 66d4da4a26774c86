"""The web process as it runs in `make up` and in the pods: gunicorn (devstack.web_argv,
dojocloud.gunicorn_conf) on a free loopback port, serving the tests' database, for tests
that drive pages over real HTTP (the browser tests). Email goes to files in `mail_dir`
(Django's file backend), which `emails()` reads, since the server is another process."""

from __future__ import annotations

import email
import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from django.conf import settings

from devstack import REPO, free_port, http_ok, wait_until, web_argv


class _NoSettingsOverride:
    """pytest-django's autouse helper enables a fixture named `live_server`'s per-test
    settings override; a `settings` change in the test cannot reach another process, so
    there is nothing to enable."""

    def enable(self) -> None:
        pass

    def disable(self) -> None:
        pass


@dataclass
class WebServer:
    url: str
    mail_dir: Path
    log: Path
    _live_server_modified_settings: _NoSettingsOverride = field(default_factory=_NoSettingsOverride)

    def emails(self) -> list[Message]:
        """Every message the server has sent, oldest first."""
        files = sorted(self.mail_dir.glob("*.log"), key=lambda f: f.stat().st_mtime_ns)
        messages = []
        for path in files:
            # The file backend writes each message followed by a line of dashes.
            for chunk in path.read_bytes().split(b"-" * 79):
                if chunk.strip():
                    messages.append(email.message_from_bytes(chunk.strip() + b"\n"))
        return messages


def body_text(message: Message) -> str:
    """The decoded text of every text part of `message`."""
    texts = []
    for part in message.walk():
        payload = part.get_payload(decode=True)
        if part.get_content_maintype() == "text" and isinstance(payload, bytes):
            texts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(texts)


def database_url() -> str:
    """The URL of the database this test process uses (the test database once set up)."""
    db = settings.DATABASES["default"]
    if str(db["ENGINE"]).endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = str(db.get("USER") or "")
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = f"{auth}@" if auth else ""
    return (
        f"postgresql://{host}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    )


@contextmanager
def gunicorn_web(tmp: Path, **env: str) -> Iterator[WebServer]:
    """Starts gunicorn (one worker, four threads: one test's browser at a time) on the
    tests' database and Redis, DEBUG off as customers see it; stops it after the block."""
    port = free_port()
    mail_dir, log = tmp / "mail", tmp / "web.log"
    full = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "tests.support.web_settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_HTTPS": "0",
        "DJANGO_SECRET_KEY": "browser-tests-only-" + "x" * 40,
        "DOJO_DATA_DIR": str(tmp),
        "DOJO_EMAIL_BACKEND": "file",
        "DOJO_EMAIL_FILE_DIR": str(mail_dir),
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "platform"), str(REPO / "sdk")]),
        **env,
    }
    full.pop("PROMETHEUS_MULTIPROC_DIR", None)
    argv = [*web_argv(f"127.0.0.1:{port}"), "--workers", "1", "--threads", "4"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, env=full, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_ok(f"{url}/healthz"), 90, proc, "web (gunicorn)", log)
        yield WebServer(url, mail_dir, log)
    finally:
        proc.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
