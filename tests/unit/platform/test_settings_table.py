"""The README's settings tables are what the code reads, and only settings.py reads the
environment.

The server table is held to `dojocloud.common.env.VARIABLES`, which the typed helpers fill
as `settings.py` runs (here: run afresh with none of its variables set, so every default is
the code's); the client table is held to the names `sdk/dojo/config.py` reads.
"""

from __future__ import annotations

import ast
import re
import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from dojo import config as client_config
from dojocloud.common import env as env_module
from dojocloud.common.env import Variable

REPO = Path(__file__).resolve().parents[3]
SETTINGS = REPO / "platform" / "dojocloud" / "settings.py"
# Only these read the environment; the rest of the platform reads django.conf.settings.
READERS = {SETTINGS, REPO / "platform" / "dojocloud" / "common" / "env.py"}
SERVER_HEADING = "### Server side"
CLIENT_HEADING = "### Client side"


def _table(heading: str) -> dict[str, tuple[str, str]]:
    """Variable -> (type, default) of the first table under the README heading `heading`."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start = text.index("\n" + heading) + 1
    end = text.find("\n#", start)
    rows: dict[str, tuple[str, str]] = {}
    for line in text[start : end if end != -1 else None].splitlines():
        if not line.startswith("| `"):
            continue
        name, kind, default, _meaning = (cell.strip() for cell in line.strip("|").split("|"))
        assert name.strip("`") not in rows, f"{name} is listed twice"
        rows[name.strip("`")] = (kind, default)
    assert rows, f"no table under {heading!r}"
    return rows


def _documented_default(cell: str) -> str:
    """The value a Default cell states: its leading `code`, or "" for unset/empty/prose."""
    match = re.match(r"`([^`]*)`", cell)
    return match[1] if match else ""


def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(env_module, "VARIABLES", {})
    runpy.run_path(str(SETTINGS))  # once, to learn the names to clear
    for name in env_module.VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    monkeypatch.setenv("DOJO_DATA_DIR", str(tmp_path))  # keeps the run from touching var/
    monkeypatch.setattr(env_module, "VARIABLES", {})


def _read_by_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Variable]:
    _clean_environment(monkeypatch, tmp_path)
    runpy.run_path(str(SETTINGS))
    return dict(env_module.VARIABLES)


def test_the_server_table_lists_exactly_what_settings_reads(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    read = _read_by_settings(monkeypatch, tmp_path)
    table = _table(SERVER_HEADING)
    assert set(table) == set(read), (
        f"missing from the README: {sorted(set(read) - set(table))}; "
        f"not read by settings.py: {sorted(set(table) - set(read))}"
    )
    for name, variable in read.items():
        kind, default = table[name]
        assert kind == variable.kind, f"{name}: README says {kind!r}, code {variable.kind!r}"
        assert _documented_default(default) == variable.default, (
            f"{name}: README default {default!r}, code {variable.default!r}"
        )


def test_the_client_table_lists_exactly_what_the_sdk_reads() -> None:
    source = Path(client_config.__file__).read_text(encoding="utf-8")
    read = set(re.findall(r'env\.get\("(DOJO_\w+)"', source))
    table = _table(CLIENT_HEADING)
    assert set(table) == read
    assert _documented_default(table["DOJO_SERVER"][1]) == client_config.DEFAULT_SERVER
    assert float(_documented_default(table["DOJO_TIMEOUT"][1])) == client_config.DEFAULT_TIMEOUT
    assert not set(table) & set(_table(SERVER_HEADING)), "a variable in both tables"


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("DOJO_GRPC_METRICS_PORT", "ninety", "must be an integer, got 'ninety'"),
        ("DOJO_GRPC_METRICS_PORT", "70000", "must be at most 65535, got 70000"),
        ("DOJO_GRPC_METRICS_PORT", "0", "must be at least 1, got 0"),
        ("DOJO_PROMETHEUS_URL", "127.0.0.1:9090", "must be a URL starting http:// or https://"),
        ("DOJO_PROMETHEUS_URL", "http://", "must be a URL starting http:// or https://"),
        ("DOJO_LOG_LEVEL", "chatty", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
        ("REDIS_URL", "127.0.0.1:6379", "must be a URL starting redis://, rediss:// or unix://"),
        ("DOJO_WORKER_METRICS_PORT", "-1", "must be at least 0, got -1"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, value: str, message: str
) -> None:
    _clean_environment(monkeypatch, tmp_path)
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match="^" + re.escape(f"{name} {message}")):
        runpy.run_path(str(SETTINGS))


def test_the_three_former_strays_are_typed_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _clean_environment(monkeypatch, tmp_path)
    monkeypatch.setenv("DOJO_GRPC_METRICS_PORT", " 9101 ")
    monkeypatch.setenv("DOJO_LOG_LEVEL", "warning")
    secret = tmp_path / "prometheus-url"
    secret.write_text("https://prom.example.com:9090\n", encoding="utf-8")
    monkeypatch.setenv("DOJO_PROMETHEUS_URL_FILE", str(secret))  # NAME_FILE works for any
    values = runpy.run_path(str(SETTINGS))
    assert values["GRPC_METRICS_PORT"] == 9101
    assert values["LOG_LEVEL"] == "WARNING"
    assert values["LOGGING"]["loggers"]["dojocloud"]["level"] == "WARNING"
    assert values["PROMETHEUS_URL"] == "https://prom.example.com:9090"
    _clean_environment(monkeypatch, tmp_path)
    unset = runpy.run_path(str(SETTINGS))
    assert (unset["GRPC_METRICS_PORT"], unset["PROMETHEUS_URL"], unset["LOG_LEVEL"]) == (
        None,
        "http://127.0.0.1:9090",
        "INFO",
    )


_ENVIRON = {"environ", "environb", "getenv", "getenvb"}


def _settings_module_defaults(tree: ast.AST) -> set[int]:
    """The `os.environ` nodes of `os.environ.setdefault("DJANGO_SETTINGS_MODULE", ...)`."""
    return {
        id(node.func.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "setdefault"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value == "DJANGO_SETTINGS_MODULE"
    }


def _reads(node: ast.AST, allowed: set[int]) -> bool:
    if isinstance(node, ast.Attribute):
        return node.attr in _ENVIRON and id(node) not in allowed
    return (
        isinstance(node, ast.ImportFrom)
        and node.module == "os"
        and any(alias.name in _ENVIRON for alias in node.names)
    )


def _environment_reads(tree: ast.AST) -> list[int]:
    allowed = _settings_module_defaults(tree)
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute | ast.ImportFrom) and _reads(node, allowed)
    ]


def test_only_the_settings_read_the_environment() -> None:
    strays: list[str] = []
    for folder in ("platform", "scheduler", "dojo_runtime"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path not in READERS:
                tree = ast.parse(path.read_text(encoding="utf-8"))
                strays += [f"{path.relative_to(REPO)}:{line}" for line in _environment_reads(tree)]
    assert not strays, f"read django.conf.settings instead: {strays}"
