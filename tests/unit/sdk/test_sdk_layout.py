"""The SDK is installed by customers: it must import nothing server-side."""

import ast
from pathlib import Path

SDK = Path(__file__).resolve().parents[3] / "sdk" / "dojo"
SERVER_SIDE = {"django", "dojocloud", "scheduler", "dojo_runtime", "celery", "redis", "torch"}


def test_sdk_imports_nothing_server_side() -> None:
    found: set[str] = set()
    for path in SDK.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    assert "grpc" in found and "yaml" in found  # the walk saw real imports
    assert not found & SERVER_SIDE
