"""Chromium through Playwright against the web process as it runs in production: gunicorn
(tests/support/web_server.py) on a free port, serving the tests' database, one per test.
The fixture keeps pytest-django's name, `live_server`, and its `.url`.

Debian's Chromium (`apt-get install chromium`), never a browser Playwright downloads.
Playwright's sync API runs an event loop in this thread, so Django must be told that its
synchronous ORM calls from the test thread are fine."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.web_server import WebServer, gunicorn_web

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    # Per module, not per session: while Playwright's sync API is open, its event loop counts
    # as running in this thread, and every later test calling asyncio.run() (the async SDK's)
    # would fail with "cannot be called from a running event loop".
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def _warm_imports() -> None:
    # Pages render estimates in the web process (tests/support/web_settings.py imports the
    # catalog there); tests that build jobs here import it once too.
    import importlib

    importlib.import_module("dojo_runtime.catalog")


@pytest.fixture
def live_server(transactional_db: None, redis_url: str, tmp_path: Path) -> Iterator[WebServer]:
    """The web under gunicorn for this test: what the test commits, the server reads."""
    with gunicorn_web(tmp_path, REDIS_URL=redis_url) as server:
        yield server


@pytest.fixture
def page(browser, _warm_imports) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    # Every page runs under the Content-Security-Policy: anything it refuses fails the test.
    refused: list[str] = []
    page.on(
        "console",
        lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    try:
        yield page
    finally:
        context.close()
    assert not refused, f"the Content-Security-Policy refused: {refused}"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
