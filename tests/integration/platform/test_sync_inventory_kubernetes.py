"""`manage.py sync_inventory --from-kubernetes` against a real HTTP peer: a small Kubernetes
API server (http.server on a free loopback port) answering GET /api/v1/nodes with a NodeList,
reached by the official client through a kubeconfig. It checks the label selector the
command sends, the inventory it writes, and the Device rows that follow."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from django.core.management import CommandError, call_command

from dojocloud.scheduling.models import Device

REPO = Path(__file__).resolve().parents[3]


def _node(name: str, gpu_type: str, rack: str, ready: str = "True") -> dict[str, object]:
    return {
        "metadata": {
            "name": name,
            "labels": {"dojo.ai/gpu-type": gpu_type, "dojo.ai/rack": rack},
        },
        "spec": {},
        "status": {
            "capacity": {"nvidia.com/gpu": "8", "cpu": "96"},
            "conditions": [{"type": "Ready", "status": ready}],
        },
    }


class FakeApi:
    def __init__(self, nodes: list[dict[str, object]]) -> None:
        self.nodes = nodes
        self.requests: list[tuple[str, dict[str, list[str]]]] = []


@pytest.fixture
def fake_api() -> Iterator[tuple[FakeApi, str]]:
    api = FakeApi([])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            api.requests.append((url.path, parse_qs(url.query)))
            if url.path != "/api/v1/nodes":
                self.send_error(404)
                return
            body = json.dumps(
                {"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": api.nodes}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _kubeconfig(tmp_path: Path, server: str) -> str:
    path = tmp_path / "kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "fake", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "u"}}],
                "current-context": "fake",
            }
        )
    )
    return str(path)


def test_discovered_pools_are_written_beside_the_dojo_trays(
    fake_api: tuple[FakeApi, str], tmp_path: Path
) -> None:
    api, server = fake_api
    api.nodes = [
        _node("gpu-7", "h100", "r7"),
        _node("gpu-8", "h100", "r7"),
        _node("gpu-9", "h100", "r9"),
        _node("gpu-3", "a100", "r3", ready="False"),
    ]
    out, err = StringIO(), StringIO()
    call_command(
        "sync_inventory",
        "--from-kubernetes",
        "--kubeconfig",
        _kubeconfig(tmp_path, server),
        "--output",
        "-",
        stdout=out,
        stderr=err,
    )
    assert api.requests[-1][0] == "/api/v1/nodes"
    assert api.requests[-1][1]["labelSelector"] == ["dojo.ai/gpu-type"]
    written = yaml.safe_load(out.getvalue())
    dev = yaml.safe_load((REPO / "deploy/clusters/dev.yaml").read_text())
    assert written["dojo"] == dev["dojo"]  # the trays stay the static file's
    assert written["gpu_pools"] == [
        {"pool": "gpu-h100", "nodes": 2, "gpus_per_node": 8, "rack": "r7"},
        {"pool": "gpu-h100", "nodes": 1, "gpus_per_node": 8, "rack": "r9"},
    ]
    assert "left out gpu-3: not Ready" in err.getvalue()


@pytest.mark.django_db
def test_written_over_the_inventory_the_devices_follow(
    fake_api: tuple[FakeApi, str], tmp_path: Path, settings
) -> None:  # type: ignore[no-untyped-def]
    api, server = fake_api
    api.nodes = [_node("gpu-1", "h100", "r1"), _node("gpu-2", "a100", "r2")]
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text((REPO / "deploy/clusters/dev.yaml").read_text())
    settings.CLUSTER_FILE = cluster
    call_command(
        "sync_inventory",
        "--from-kubernetes",
        "--kubeconfig",
        _kubeconfig(tmp_path, server),
        stderr=StringIO(),
    )
    gpus = Device.objects.filter(in_inventory=True, kind="gpu")
    assert sorted({(d.pool, d.node) for d in gpus}) == [("gpu-a100", "n0"), ("gpu-h100", "n0")]
    assert gpus.count() == 16
    assert Device.objects.filter(in_inventory=True, kind="tile").count() == 6


def test_an_unknown_gpu_type_stops_it_naming_the_node(
    fake_api: tuple[FakeApi, str], tmp_path: Path
) -> None:
    api, server = fake_api
    api.nodes = [_node("odd-1", "tpu", "r1")]
    with pytest.raises(CommandError, match="node odd-1: label dojo.ai/gpu-type='tpu'"):
        call_command(
            "sync_inventory",
            "--from-kubernetes",
            "--kubeconfig",
            _kubeconfig(tmp_path, server),
            "--output",
            str(tmp_path / "out.yaml"),
            stderr=StringIO(),
        )
    assert not (tmp_path / "out.yaml").exists()


def test_an_api_server_that_does_not_answer_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Kubernetes API did not answer"):
        call_command(
            "sync_inventory",
            "--from-kubernetes",
            "--kubeconfig",
            _kubeconfig(tmp_path, "http://127.0.0.1:9"),
            "--output",
            "-",
            stdout=StringIO(),
            stderr=StringIO(),
        )
