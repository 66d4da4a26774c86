"""Issue 10's acceptance, end to end on real processes: a customer uploads a dataset and an
ONNX model (a small CNN exported here with torch.onnx.export) through the SDK over gRPC on
loopback, trains it in cfp8 on a Dojo tile on a real worker process, downloads the trained
model, and runs the downloaded model.onnx with onnxruntime on held-out data the test kept
back: its accuracy is within 0.5 points of the platform's own evaluation (the job's final
evaluation, which GetJob carries and the job's log prints).

The data: sklearn's digits (1797 images, 8x8). The test keeps a fifth back (never
uploaded); the platform holds out a fifth of the upload for its own evaluation. The
downloaded model is also run on that platform split, which the runtime's fixed split lets
the test rebuild: there the two accuracies agree up to near-ties of logits."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from django.contrib.auth.models import User
from google.protobuf import json_format
from platform_worker_procs import Workers
from sklearn.datasets import load_digits

from dojo.client import Client
from dojo.config import ClientConfig
from dojo.v1 import job_pb2
from dojo_runtime.data.sources import split
from dojocloud.api.grpc_app import build_api_server
from dojocloud.artifacts.models import Artifact
from dojocloud.jobs.models import Job
from dojocloud.tenancy.services import create_api_key, create_organization, principal_for_user
from tests.support.driving import drive
from tests.support.grpc_server import serving
from tests.support.onnx_models import ResidualCNN, export

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
STEPS, INTERVAL = 300, 150
# weights, model, spec, metrics and the two segments' checkpoints
ARTIFACTS = 6


def _digits() -> tuple[np.ndarray, np.ndarray]:
    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None, :, :]
    order = np.random.default_rng(10).permutation(len(x))
    return x[order], d.target.astype(np.int64)[order]


def _spec(dataset: str, model: str) -> job_pb2.JobSpec:
    return json_format.ParseDict(
        {
            "name": "digits-onnx-cnn",
            "model": {"onnx": model, "task": "classification"},
            "dataset": {"name": dataset},
            "training": {
                "steps": STEPS,
                "batch_size": 32,
                "optimizer": "adam",
                "learning_rate": 0.01,
                "precision": "cfp8",
                "checkpoint_interval": INTERVAL,
                "seed": 3,
            },
            "resources": {"accelerators": ["dojo-tile"], "count": 1},
        },
        job_pb2.JobSpec(),
    )


def _accuracy(session: ort.InferenceSession, x: np.ndarray, y: np.ndarray) -> float:
    # Batches as the platform evaluates (batch norm uses the batch's statistics).
    name = session.get_inputs()[0].name
    correct = 0
    for start in range(0, len(x), 256):
        logits = session.run(None, {name: x[start : start + 256]})[0]
        correct += int((logits.argmax(-1) == y[start : start + 256]).sum())
    return correct / len(x)


def test_upload_train_in_cfp8_download_and_run_the_model_elsewhere(
    live: Workers, tmp_path: Path
) -> None:
    x, y = _digits()
    kept = len(x) // 5  # never uploaded: the customer's own held-out data
    held_x, held_y, up_x, up_y = x[:kept], y[:kept], x[kept:], y[kept:]
    buffer = io.BytesIO()
    np.savez(buffer, x=up_x, y=up_y)
    (tmp_path / "digits.npz").write_bytes(buffer.getvalue())
    torch.manual_seed(0)
    net = ResidualCNN(c_in=1, width=8, classes=10)
    (tmp_path / "cnn.onnx").write_bytes(export(net, torch.randn(2, 1, 8, 8), training=True))

    alice = User.objects.create_user("alice")
    create_organization("acme", "Acme", alice)
    key = create_api_key(principal_for_user(alice, "acme"), name="t")[1]
    live.start()
    with serving(build_api_server("127.0.0.1:0", max_workers=4)) as address:
        client = Client(ClientConfig(server=address, api_key=key, timeout=60))
        dataset = client.create_dataset(tmp_path / "digits.npz", "digits")
        model = client.create_model(tmp_path / "cnn.onnx", "cnn")
        job = client.create_job(_spec(dataset.name, model.name))
        job_id = job.name.rsplit("/", 1)[1]
        drive(
            lambda: Artifact.objects.filter(job__uid=job.uid).count() == ARTIFACTS,
            live.logs,
            timeout=480,
        )
        done = client.get_job(job.name)
        assert done.state == job_pb2.SUCCEEDED, (done.state_reason, live.logs())
        assert done.HasField("evaluation") and done.evaluation.step == STEPS
        platform = done.evaluation.accuracy
        log = client.read_job_log(job.name)[0].decode()
        assert f"accuracy {platform:.4f}" in log  # the log's evaluation line says the same
        files = client.download_job_artifacts(job_id, tmp_path / "out")
        client.close()
    assert {p.name for p in files} >= {"model.onnx", "weights.safetensors"}

    session = ort.InferenceSession(
        str(tmp_path / "out" / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    assert platform > 0.8, live.logs()  # it learned: chance is 0.1
    ours = _accuracy(session, held_x, held_y)
    assert abs(ours - platform) <= 0.005, (ours, platform)
    # On the very samples the platform evaluated, the downloaded model agrees with it.
    arrays = split(torch.from_numpy(up_x), torch.from_numpy(up_y))
    assert len(arrays.eval_y) == int(Job.objects.get(uid=job.uid).evaluation["samples"])
    same = _accuracy(session, arrays.eval_x.numpy(), arrays.eval_y.numpy())
    assert abs(same - platform) <= 0.005, (same, platform)
