"""Generated protobuf code in sdk/dojo/v1 matches protos/ (regenerate: make protos)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_generated_code_is_fresh(tmp_path: Path) -> None:
    subprocess.run(
        ["bash", "scripts/gen_protos.sh", str(tmp_path)],
        cwd=REPO,
        check=True,
        env={"PYTHON": sys.executable, "PATH": "/usr/bin:/bin"},
    )
    fresh = sorted(p.relative_to(tmp_path) for p in (tmp_path / "dojo" / "v1").iterdir())
    committed = REPO / "sdk"
    stale = [
        str(p)
        for p in fresh
        if not (committed / p).exists()
        or (committed / p).read_bytes() != (tmp_path / p).read_bytes()
    ]
    assert not stale, f"stale generated code, run `make protos`: {stale}"
