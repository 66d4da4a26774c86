"""The import contracts (pyproject's [tool.importlinter]) hold on the tree, and they are not
vacuous: a copy of the platform package with one import across a layer and one import past a
facade breaks the layers contract and the facade contract, naming the offending line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, pythonpath: list[Path], *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "COLUMNS": "200",
        "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath),
    }
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _config() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as fh:
        return tomllib.load(fh)["tool"]["importlinter"]  # type: ignore[no-any-return]


def _toml(section: str, table: dict[str, object]) -> str:
    # JSON strings and lists of strings are valid TOML values.
    return f"[{section}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items())


def test_the_tree_keeps_every_contract() -> None:
    run = _lint(REPO, [REPO, REPO / "platform", REPO / "sdk"])
    assert run.returncode == 0, run.stdout + run.stderr
    assert "0 broken" in run.stdout


def _add_line(path: Path, line: str) -> int:
    text = path.read_text(encoding="utf-8")
    path.write_text(text + line + "\n", encoding="utf-8")
    return text.count("\n") + 1


@pytest.fixture
def broken_copy(tmp_path: Path) -> tuple[Path, int, int]:
    """A copy of platform/dojocloud with jobs importing scheduling (a layer upwards) and the
    API importing jobs' models (past jobs' facade); the platform contracts only."""
    shutil.copytree(
        REPO / "platform" / "dojocloud",
        tmp_path / "dojocloud",
        ignore=shutil.ignore_patterns("__pycache__", "templates", "static"),
    )
    up = _add_line(
        tmp_path / "dojocloud" / "jobs" / "services.py",
        "from dojocloud.scheduling.facade import start_scheduler  # noqa",
    )
    past = _add_line(
        tmp_path / "dojocloud" / "api" / "job_service.py",
        "from dojocloud.jobs.models import Job as _Job  # noqa",
    )
    config = _config()
    platform = [
        c
        for c in config["contracts"]  # type: ignore[attr-defined]
        if c["id"] in ("platform-layers", "platform-facades")
    ]
    assert len(platform) == 2
    head = {
        "root_packages": ["dojocloud"],
        "include_external_packages": True,
        "contract_types": config["contract_types"],
    }
    (tmp_path / "contracts.toml").write_text(
        _toml("tool.importlinter", head)
        + "".join("\n" + _toml("[tool.importlinter.contracts]", c) for c in platform),
        encoding="utf-8",
    )
    return tmp_path, up, past


def test_an_upward_import_and_an_import_past_a_facade_break_the_contracts(
    broken_copy: tuple[Path, int, int],
) -> None:
    root, up, past = broken_copy
    run = _lint(root, [root, REPO], "--config", "contracts.toml")
    out = " ".join(run.stdout.split())  # the report wraps long lines
    assert run.returncode == 1, run.stdout + run.stderr
    assert "2 broken" in out
    assert "dojocloud.jobs.services -> dojocloud.scheduling.facade" in out
    assert (
        f"dojocloud/api/job_service.py:{past}: dojocloud.api.job_service -> dojocloud.jobs.models"
    ) in out
    assert f"(l.{up})" in out
