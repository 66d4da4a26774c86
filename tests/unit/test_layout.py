"""Ground rules of the layout (DESIGN.md)."""

from __future__ import annotations

import ast
import platform
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_platform_is_the_standard_library_module() -> None:
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(platform.__file__).resolve().parent == stdlib
    assert not (REPO / "platform" / "__init__.py").exists()


def _modules(folder: Path) -> set[str]:
    found: set[str] = set()
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
    return found


def _imports(folder: Path) -> set[str]:
    return {m.split(".")[0] for m in _modules(folder)}


def test_pure_packages_import_nothing_above_them() -> None:
    forbidden = {"django", "dojocloud", "celery", "grpc", "redis", "psycopg", "scheduler"}
    assert not _imports(REPO / "dojo_runtime") & forbidden
    core = _modules(REPO / "scheduler" / "core")
    assert not {m.split(".")[0] for m in core} & (
        forbidden - {"scheduler"} | {"dojo", "dojo_runtime"}
    )
    assert all(m.startswith("scheduler.core") for m in core if m.startswith("scheduler"))


def test_scheduler_does_not_import_the_platform() -> None:
    assert "dojocloud" not in _imports(REPO / "scheduler")
    assert "django" not in _imports(REPO / "scheduler")
