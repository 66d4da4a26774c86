"""`dojo ops` against a real API server (port 0) on the test database: the capacity mesh,
drain and undrain reaching the devices, and a clear refusal for non-operators."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest
from sched_svc_grpc_support import Callers

from dojo import cli
from dojocloud.api.grpc_app import build_api_server
from dojocloud.scheduling.models import Device
from tests.support.grpc_server import serving

TRAY = "dojo/e0/c0/t0"
TILE = f"{TRAY}/r0c0"

Dojo = Callable[..., tuple[int, str, str]]


@pytest.fixture
def dojo(callers: Callers, capsys: pytest.CaptureFixture[str]) -> Iterator[Dojo]:
    """Runs `dojo --server ... --api-key KEY ARGS`; returns (exit code, stdout, stderr)."""
    with serving(build_api_server("127.0.0.1:0", max_workers=4), 1.0) as address:

        def run(key: str, *argv: str) -> tuple[int, str, str]:
            code = cli.main(["--server", address, "--api-key", key, "--timeout", "30", *argv])
            out = capsys.readouterr()
            return code, out.out, out.err

        yield run


def _tray_rows(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{TRAY}  ("))
    return [
        line
        for line in lines[start + 2 :]
        if line.startswith("  r") and line.split()[0][1:].isdigit()
    ]


def test_capacity_prints_the_mesh_and_gpu_nodes(callers: Callers, dojo: Dojo) -> None:
    code, out, _ = dojo(callers.operator, "ops", "capacity")
    assert code == 0
    assert "tiles  (. free  # busy  d draining  X failed)" in out
    rows = _tray_rows(out)
    assert rows and all(set(r.split()[1:]) == {"."} for r in rows)
    assert (
        sum(len(r.split()) - 1 for r in rows) == Device.objects.filter(id__startswith=TRAY).count()
    )
    assert "gpu-a100/n0" in out and "0/8" in out
    code, out, _ = dojo(callers.operator, "ops", "capacity", "-o", "json")
    assert code == 0 and TILE in {t["id"] for t in json.loads(out)["tiles"]}


def test_drain_then_undrain_a_tile(callers: Callers, dojo: Dojo) -> None:
    code, out, _ = dojo(callers.operator, "ops", "drain", TILE, "--reason", "reseat")
    assert (code, out.splitlines()[0]) == (0, f"drained {TILE}: 1 device(s)")
    assert Device.objects.get(id=TILE).status == "draining"
    assert _tray_rows(dojo(callers.operator, "ops", "capacity")[1])[0].split()[1] == "d"

    code, out, _ = dojo(callers.operator, "ops", "undrain", TILE, "-o", "json")
    assert code == 0 and json.loads(out) == {"target": TILE, "devices": 1}
    assert Device.objects.get(id=TILE).status == "free"
    assert _tray_rows(dojo(callers.operator, "ops", "capacity")[1])[0].split()[1] == "."


@pytest.mark.parametrize("who", ["customer", "operator_viewer"])
def test_non_operators_are_refused_clearly(callers: Callers, dojo: Dojo, who: str) -> None:
    code, out, err = dojo(getattr(callers, who), "ops", "drain", TILE)
    assert (code, out) == (cli.EXIT_API_ERROR, "")
    assert err.startswith("error: PERMISSION_DENIED: the scheduler API is for operators")
    assert "'operators' organization" in err
    assert Device.objects.get(id=TILE).status == "free"
