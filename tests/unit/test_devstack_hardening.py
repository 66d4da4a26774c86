"""`make up` runs with DEBUG off and a generated secret kept in the state dir (mode 600,
created once, reused), without HTTPS-only cookies (it serves plain HTTP on loopback)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from devstack import Stack, secret_key_file


def test_the_secret_is_made_once_private_and_reused(tmp_path: Path) -> None:
    path = secret_key_file(tmp_path / "var")
    first = path.read_text(encoding="utf-8").strip()
    assert len(first) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key_file(tmp_path / "var").read_text(encoding="utf-8").strip() == first


def test_a_loose_secret_file_is_tightened_not_replaced(tmp_path: Path) -> None:
    path = secret_key_file(tmp_path)
    before = path.read_text(encoding="utf-8")
    path.chmod(0o644)
    assert secret_key_file(tmp_path) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_text("utf-8") == before


def test_the_stack_runs_without_debug_on_its_own_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (
        "DJANGO_DEBUG",
        "DJANGO_HTTPS",
        "DJANGO_SECRET_KEY",
        "DJANGO_SECRET_KEY_FILE",
        "DOJO_DEMO_PASSWORD",
        "DJANGO_SETTINGS_MODULE",
    ):
        monkeypatch.delenv(name, raising=False)
    env = Stack(state_dir=tmp_path).base_env()
    assert env["DJANGO_DEBUG"] == "0" and env["DJANGO_HTTPS"] == "0"
    assert env["DJANGO_SECRET_KEY_FILE"] == str(tmp_path / "secret_key")
    assert "DJANGO_SECRET_KEY" not in env
    # Without it Celery skips its Django fix-up and a worker never opens its metrics port
    # (the stack then gives up waiting): a fresh shell's `make up` must not depend on it.
    assert env["DJANGO_SETTINGS_MODULE"] == "dojocloud.settings"
    # A secret the operator gives wins, and then no file is made.
    other = tmp_path / "given"
    env = Stack(state_dir=other, env={"DJANGO_SECRET_KEY": "x" * 60}).base_env()
    assert "DJANGO_SECRET_KEY_FILE" not in env and not (other / "secret_key").exists()
