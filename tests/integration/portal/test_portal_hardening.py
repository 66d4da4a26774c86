"""Browser hardening: the Content-Security-Policy (and templates it can hold to: no inline
script, no inline handlers or styles), the project's own 404 and 500 pages, static files
with DEBUG off, and `manage.py check --deploy` clean on production settings."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django.views.defaults import server_error

REPO = Path(__file__).resolve().parents[3]
TEMPLATES = sorted((REPO / "platform" / "dojocloud").glob("*/templates/**/*.html"))
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler (on...=)"),
    (re.compile(r"\sstyle\s*=", re.I), "an inline style attribute"),
    (re.compile(r"<style", re.I), "a <style> element"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_templates_hold_nothing_the_policy_forbids(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    for pattern, what in INLINE:
        match = pattern.search(text)
        assert match is None, f"{template.relative_to(REPO)} has {what}: {match and match[0]}"


@pytest.mark.django_db
def test_pages_carry_the_policy(alice: User) -> None:
    client = Client()
    client.force_login(alice)
    response = client.get("/jobs/")
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert "unsafe" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_a_wrong_job_url_gets_the_projects_404(alice: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = False
    client = Client()
    client.force_login(alice)
    for url in ("/jobs/no-such-job/", "/no/such/page"):
        response = client.get(url)
        assert response.status_code == 404
        text = response.content.decode()
        assert "Not found" in text and "Back to your jobs" in text
        assert "URLconf" not in text and "urlpatterns" not in text


def test_the_500_page_is_the_projects() -> None:
    response = server_error(RequestFactory().get("/jobs/"))
    assert response.status_code == 500
    assert b"Something went wrong" in response.content and b"Traceback" not in response.content


@pytest.mark.django_db
def test_static_files_are_served_with_debug_off(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEBUG = False
    for name in ("portal/portal.js", "portal/portal.css", "portal/vendor/htmx/htmx.min.js"):
        response = Client().get(f"/static/{name}")
        assert response.status_code == 200, name
        assert b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_check_deploy_is_clean_on_production_settings(tmp_path: Path) -> None:
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DOJO_"))
    }
    env.update(
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DOJO_DATA_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="dojocloud.settings",
    )
    res = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "System check identified no issues" in res.stdout
    assert "WARNINGS" not in res.stdout + res.stderr


@pytest.mark.django_db
def test_https_redirects_pages_but_not_probes_or_scrapes(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SECURE_SSL_REDIRECT = True  # what DJANGO_HTTPS on sets
    client = Client()
    assert client.get("/login/").status_code == 301
    assert client.get("/healthz").status_code != 301
    assert client.get("/metrics").status_code == 200
    assert client.get("/login/", secure=True).status_code == 200
