"""The README is executable: its quick start's shell lines run verbatim, in one shell, in a
folder laid out like a fresh clone after `make up` (the repository's files, `.venv`, and the
`.dojo/demo.env` that the live stack's seed wrote), against that live stack."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from devstack import REPO
from tests.integration.e2e.conftest import RunningStack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

README = REPO / "README.md"
MARK = "@@readme-line@@"


def quick_start() -> list[str]:
    """The command lines of the shell blocks under "The two commands", after `make up`'s
    own block (the live stack stands in for `make up`)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("\n## The two commands")
    section = text[start : text.index("\n## ", start + 1)]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) >= 2, "the quick start lost its shell blocks"
    assert blocks[0].lstrip().startswith("make up")
    lines = [line for block in blocks[1:] for line in block.splitlines()]
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_the_readme_links_nothing_outside_the_repository() -> None:
    text = README.read_text(encoding="utf-8")
    assert "../" not in text
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        if "://" not in target:
            assert (REPO / target).exists(), f"README links to {target}, which is not here"


def _clone(base: Path, stack: RunningStack) -> Path:
    """A folder that looks like the clone after `make up`: every top-level entry of the
    repository linked, but `.dojo/` its own, holding the stack's demo.env as written."""
    clone = base / "clone"
    clone.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in {".dojo", "var", ".git"}:
            (clone / entry.name).symlink_to(entry)
    (clone / ".dojo").mkdir()
    shutil.copy(stack.base / "demo.env", clone / ".dojo" / "demo.env")
    return clone


def test_the_quick_start_runs_as_written(running_stack: RunningStack, tmp_path: Path) -> None:
    lines = quick_start()
    assert lines[0].startswith("source .venv/bin/activate")
    assert lines[1].startswith("source .dojo/demo.env")
    clone = _clone(tmp_path, running_stack)
    # A fresh terminal: no Dojo variables, and the venv not on PATH (activate must do it).
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOJO_")}
    venv_bin = str(REPO / ".venv" / "bin")
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if p and Path(p) != Path(venv_bin)
    )
    env.pop("VIRTUAL_ENV", None)
    script = "set -e\n" + "".join(f"echo {MARK}{i}\n{line}\n" for i, line in enumerate(lines))
    res = subprocess.run(
        ["bash", "-c", script],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert res.returncode == 0, f"a README line failed:\n{res.stdout}\n{res.stderr}"
    outputs = dict(
        (int(chunk.split("\n", 1)[0]), chunk.split("\n", 1)[1] if "\n" in chunk else "")
        for chunk in res.stdout.split(MARK)[1:]
    )
    assert len(outputs) == len(lines)  # every line ran
    by_command = {line.split("#")[0].strip(): outputs[i] for i, line in enumerate(lines)}
    submitted = by_command["dojo jobs submit examples/digits-mlp.yaml --wait"]
    assert "SUCCEEDED" in submitted + res.stderr, submitted  # the progress bar is on stderr
    listed = by_command["dojo jobs list"]
    assert listed.splitlines()[0].split()[:3] == ["NAME", "ID", "STATE"]
    assert any(row.split()[:1] == ["digits-mlp"] for row in listed.splitlines()[1:])
    for estimate in (
        by_command["dojo jobs estimate examples/gpt-small-text.yaml"],
        by_command["python -m dojo_runtime estimate examples/digits-mlp.yaml"],
    ):
        assert "cheapest" in estimate and "fastest" in estimate, estimate
    assert "Traceback" not in res.stderr
