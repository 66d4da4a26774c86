"""A job's artifacts end to end: a real worker trains the job and, once it SUCCEEDED, its
Celery task writes the artifacts into object storage; the API (a real gRPC server) lists
and streams them; the SDK and the CLI download them and check each sha256; model.onnx, run
by onnxruntime, matches the platform's FP32 evaluation of the job's final checkpoint; the
portal streams them to members and answers 404 to another organization."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from django.contrib.auth.models import User
from django.test import Client as WebClient
from platform_worker_procs import Workers
from safetensors.torch import load_file

from dojo import cli
from dojo.client import Client
from dojo.config import ClientConfig
from dojo.errors import NotFoundError
from dojo_runtime.export import INPUT_NAME, fp32_model
from dojo_runtime.training import Trainer
from dojocloud.api.grpc_app import build_api_server
from dojocloud.artifacts.models import Artifact
from dojocloud.execution.checkpoints import latest_checkpoint
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from dojocloud.jobs.runtime_config import train_config
from dojocloud.tenancy.services import create_api_key, create_organization, principal_for_user
from tests.support.driving import drive, tiny_spec
from tests.support.grpc_server import serving

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
EXPECTED = {
    "checkpoint-step-0000000002.pt",
    "checkpoint-step-0000000004.pt",
    "checkpoint-step-0000000006.pt",
    "metrics.csv",
    "model.onnx",
    "spec.json",
    "weights.safetensors",
}


def _succeeded_job(live: Workers) -> Job:
    alice = User.objects.create_user("alice")
    create_organization("acme", "Acme", alice)
    job = jobs.create_job(principal_for_user(alice), tiny_spec(steps=6, interval=2))
    live.start()
    drive(
        lambda: Artifact.objects.filter(job_id=job.id).count() == len(EXPECTED),
        live.logs,
        timeout=300,
    )
    job.refresh_from_db()
    assert job.state == "SUCCEEDED", (job.state_reason, live.logs())
    return job


def _key(username: str, org: str) -> str:
    user = User.objects.get(username=username)
    return create_api_key(principal_for_user(user, org), name="t")[1]


def test_artifacts_listed_downloaded_and_checked(
    live: Workers, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One trained job (a worker run takes a while here) for every surface."""
    job = _succeeded_job(live)
    bob = User.objects.create_user("bob")
    create_organization("globex", "Globex", bob)
    _check_portal(job, bob)
    with serving(build_api_server("127.0.0.1:0", max_workers=4)) as address:
        acme = Client(ClientConfig(server=address, api_key=_key("alice", "acme"), timeout=60))
        globex = Client(ClientConfig(server=address, api_key=_key("bob", "globex"), timeout=60))
        listed = {a.name.rsplit("/", 1)[1]: a for a in acme.list_artifacts("digits-tiny")}
        assert set(listed) == EXPECTED
        page = acme.list_artifacts_page(job.resource_name, page_size=3)
        assert len(page.artifacts) == 3 and page.next_page_token
        written = acme.download_job_artifacts(job.id, tmp_path / "sdk")
        for path in written:
            header = listed[path.name]
            assert hashlib.sha256(path.read_bytes()).hexdigest() == header.sha256
            assert path.stat().st_size == header.size_bytes
        # Another organization: the job and its artifacts do not exist.
        with pytest.raises(NotFoundError):
            list(globex.list_artifacts(job.resource_name))
        with pytest.raises(NotFoundError):
            globex.download_artifact(listed["model.onnx"].name, tmp_path / "stolen")
        assert not (tmp_path / "stolen").exists()
        # The CLI lists them and writes the same files, checked.
        env_args = ["--server", address, "--api-key", _key("alice", "acme")]
        capsys.readouterr()
        assert cli.main(["jobs", "artifacts", "digits-tiny", *env_args]) == 0
        table = capsys.readouterr().out
        assert all(name in table for name in EXPECTED)
        code = cli.main(["jobs", "download", job.id, "-o", str(tmp_path / "cli"), *env_args])
        assert code == 0
        assert capsys.readouterr().out.count(" ok\n") == len(EXPECTED)
        for path in written:
            assert (tmp_path / "cli" / path.name).read_bytes() == path.read_bytes()
        outsider = ["--server", address, "--api-key", _key("bob", "globex")]
        assert cli.main(["jobs", "artifacts", job.id, *outsider]) == 3  # NOT_FOUND
        assert "not found" in capsys.readouterr().err.lower()
        acme.close()
        globex.close()
    _check_contents(job, tmp_path / "sdk")


def _check_contents(job: Job, folder: Path) -> None:
    spec = json.loads((folder / "spec.json").read_text())
    assert spec["name"] == "digits-tiny" and int(spec["training"]["steps"]) == 6
    rows = list(csv.DictReader((folder / "metrics.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5, 6]
    assert all(float(r["loss"]) > 0 and float(r["samples_per_second"]) > 0 for r in rows)
    restored = latest_checkpoint(job.id)
    assert restored is not None and restored[0].step == 6
    assert (folder / "checkpoint-step-0000000006.pt").read_bytes() == restored[1]
    saved = torch.load(folder / "checkpoint-step-0000000006.pt", weights_only=True)["model"]
    weights = load_file(folder / "weights.safetensors")
    assert all(torch.equal(weights[k], saved[k]) for k in saved) and weights.keys() == saved.keys()
    # model.onnx computes the platform's FP32 evaluation of these weights (see export.py).
    config = train_config(jobs.spec_of(job))
    model = fp32_model(config, restored[1])
    session = ort.InferenceSession(str(folder / "model.onnx"), providers=["CPUExecutionProvider"])
    trainer = Trainer(config)
    for x, _ in trainer.data.eval_batches(batch_size=128):
        with torch.no_grad():
            expected = model(x).numpy()
        got = session.run(None, {INPUT_NAME: x.numpy()})[0]
        np.testing.assert_allclose(got, expected, atol=1e-4, rtol=1e-4)


def _check_portal(job: Job, bob: User) -> None:
    """The portal streams the artifacts to members only (another organization: 404)."""
    web = WebClient()
    web.force_login(User.objects.get(username="alice"))
    page = web.get(f"/jobs/{job.id}/")
    assert page.status_code == 200
    url = f"/jobs/{job.id}/artifacts/model.onnx"
    assert url in page.content.decode()
    response = web.get(url)
    assert response.status_code == 200
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    onnx = Artifact.objects.get(job=job, name="model.onnx")
    assert hashlib.sha256(body).hexdigest() == onnx.sha256 == response["X-Checksum-SHA256"]
    assert response["Content-Disposition"] == 'attachment; filename="model.onnx"'
    assert web.get(f"/jobs/{job.id}/artifacts/nope.bin").status_code == 404
    outsider = WebClient()
    outsider.force_login(bob)
    assert outsider.get(url).status_code == 404
    assert outsider.get(f"/jobs/{job.id}/").status_code == 404
