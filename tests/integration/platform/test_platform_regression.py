"""`model: {onnx: ..., task: regression}` on a real worker process: an .npz whose y holds
float32 targets ([N, 2]) and a small MLP exported by torch.onnx.export train by mean squared
error; the job's evaluation says "mse" (no accuracy), metrics.csv has an mse column, and the
trained model.onnx run by onnxruntime fits the targets better than the untrained one.
Job validation judges the task against what the dataset's y holds (model.task), and a
catalog architecture refuses float targets (dataset.name)."""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from platform_worker_procs import Workers
from torch import nn

from dojocloud.artifacts.facade import Artifact, open_artifact
from dojocloud.common.errors import InvalidArgument
from dojocloud.datasets import facade as datasets
from dojocloud.jobs import services as jobs
from tests.support.driving import drive, tiny_spec
from tests.support.onnx_models import export
from tests.support.people import two_tenants

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SAMPLES, FEATURES, TARGETS = 200, 6, 2


def npz_targets() -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(SAMPLES, FEATURES)).astype(np.float32)
    y = (x @ rng.normal(size=(FEATURES, TARGETS))).astype(np.float32)
    buffer = io.BytesIO()
    np.savez(buffer, x=x, y=y)
    return buffer.getvalue(), x, y


class Regressor(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(FEATURES, 32), nn.Linear(32, TARGETS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


def _upload(org: object, resource_id: str, payload: bytes, fmt: str) -> object:
    request = datasets.UploadRequest(
        dataset_id=resource_id,
        format=fmt,
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        upload_id=f"up-{resource_id}",
    )
    upload = datasets.upload_model if fmt == datasets.ONNX else datasets.upload
    return upload(org, request, [payload])  # type: ignore[arg-type]


def _mse(model: bytes, x: np.ndarray, y: np.ndarray) -> float:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {session.get_inputs()[0].name: x})
    return float(((out - y) ** 2).mean())


def test_an_onnx_regressor_trains_by_mse_on_a_worker(
    live: Workers, settings: object, tmp_path: Path
) -> None:
    storage = (tmp_path / "storage").as_uri()
    settings.STORAGE_URL = storage  # type: ignore[attr-defined]
    settings.CACHE_DIR = tmp_path / "api-cache"  # type: ignore[attr-defined]
    acme, _ = two_tenants()
    payload, x, y = npz_targets()
    dataset = _upload(acme, "targets", payload, datasets.NPZ)
    assert dataset.summary["y_dtype"] == "float32" and dataset.summary["targets"] == TARGETS  # type: ignore[attr-defined]
    torch.manual_seed(0)
    untrained = export(Regressor(), torch.randn(2, FEATURES))
    model = _upload(acme, "regressor", untrained, datasets.ONNX)

    spec = tiny_spec(steps=40, interval=20, precision="cfp8")
    spec.name = "regression"
    spec.dataset.name = dataset.resource_name  # type: ignore[attr-defined]
    # A catalog architecture trains classification: the float targets are refused.
    with pytest.raises(InvalidArgument) as refused:
        jobs.create_job(acme, spec)
    assert [v.field for v in refused.value.violations] == ["dataset.name"]
    assert "float32 targets" in refused.value.violations[0].description
    spec.model.Clear()
    spec.model.onnx = model.resource_name  # type: ignore[attr-defined]
    # The default task (classification) does not suit float targets: model.task says so.
    with pytest.raises(InvalidArgument) as refused:
        jobs.create_job(acme, spec)
    (violation,) = refused.value.violations
    assert violation.field == "model.task" and "float32 targets" in violation.description
    spec.model.task = "regression"
    spec.training.learning_rate = 0.01
    job = jobs.create_job(acme, spec)

    live.start(env={"DOJO_STORAGE_URL": storage})
    drive(
        lambda: Artifact.objects.filter(job_id=job.id, name="metrics.csv").exists(),
        live.logs,
        timeout=240,
    )
    job.refresh_from_db()
    assert job.state == "SUCCEEDED", (job.state_reason, live.logs())
    evaluation = job.evaluation
    assert evaluation["loss_function"] == "mse" and evaluation["accuracy"] is None
    metrics = [e.data for e in jobs.job_events(acme, job.id) if e.kind == "metric"]
    assert len(metrics) == 40 and all(m["accuracy"] is None for m in metrics)

    def artifact(name: str) -> bytes:
        return b"".join(open_artifact(Artifact.objects.get(job_id=job.id, name=name)))

    drive(
        lambda: Artifact.objects.filter(job_id=job.id, name="model.onnx").exists(),
        live.logs,
        timeout=60,
    )
    rows = list(csv.DictReader(io.StringIO(artifact("metrics.csv").decode())))
    assert list(rows[0]) == ["step", "mse", "samples_per_second"] and len(rows) == 40
    assert float(rows[-1]["mse"]) < float(rows[0]["mse"])
    trained = artifact("model.onnx")
    # The trained file fits the targets far better than the file uploaded; its MSE on the
    # whole set is of the platform's held-out figure's size (cfp8 training, fp32 here).
    assert _mse(trained, x, y) < 0.5 * _mse(untrained, x, y)
    assert _mse(trained, x, y) == pytest.approx(evaluation["loss"], rel=0.5)
