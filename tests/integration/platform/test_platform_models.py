"""A job on an uploaded ONNX model, on a real worker process: a CNN exported here by
torch.onnx.export and an .npz dataset go to object storage through the datasets facade, the
worker fetches both into its own cache, and the job trains the imported graph on a Dojo tile
in cfp8, in two segments (the second resumes from the first's checkpoint). Also: the model
cannot be deleted while the job uses it, another organization cannot see it (NOT_FOUND in
CreateJob and EstimateJob too), and the upload and the delete are audited."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from platform_worker_procs import Workers

from dojocloud.audit.models import AuditEvent
from dojocloud.common.errors import FailedPrecondition, InvalidArgument, NotFound
from dojocloud.datasets import facade as datasets
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from tests.support.driving import drive, tiny_spec
from tests.support.onnx_models import ResidualCNN, export
from tests.support.people import two_tenants

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

CLASSES, SAMPLES, SIDE = 4, 80, 8


def npz_images() -> bytes:
    rng = np.random.default_rng(3)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        x=rng.normal(size=(SAMPLES, 1, SIDE, SIDE)).astype(np.float32),
        y=(np.arange(SAMPLES) % CLASSES).astype(np.int64),
    )
    return buffer.getvalue()


def _request(resource_id: str, payload: bytes, fmt: str) -> datasets.UploadRequest:
    return datasets.UploadRequest(
        dataset_id=resource_id,
        format=fmt,
        size=len(payload),
        sha256=hashlib.sha256(payload).hexdigest(),
        upload_id=f"up-{resource_id}",
    )


def _chunks(payload: bytes) -> list[bytes]:
    return [payload[i : i + 65536] for i in range(0, len(payload), 65536)]


def test_an_uploaded_onnx_cnn_trains_in_cfp8_on_a_worker(
    live: Workers, settings: object, tmp_path: Path
) -> None:
    storage = (tmp_path / "storage").as_uri()
    settings.STORAGE_URL = storage  # type: ignore[attr-defined]
    settings.CACHE_DIR = tmp_path / "api-cache"  # type: ignore[attr-defined]
    acme, globex = two_tenants()
    data = npz_images()
    dataset = datasets.upload(acme, _request("images", data, datasets.NPZ), _chunks(data))
    torch.manual_seed(0)
    onnx_bytes = export(
        ResidualCNN(c_in=1, width=4, classes=CLASSES), torch.randn(2, 1, 8, 8), training=True
    )
    model = datasets.upload_model(
        acme, _request("resnetish", onnx_bytes, datasets.ONNX), _chunks(onnx_bytes)
    )
    assert model.resource_name == "organizations/acme/models/resnetish"
    assert model.summary["op_counts"]["BatchNormalization"] == 3
    assert model.summary["inputs"][0]["shape"] == ["batch", 1, 8, 8]

    spec = tiny_spec(steps=4, interval=2, precision="cfp8")
    spec.model.Clear()
    spec.model.onnx = model.resource_name
    spec.dataset.name = dataset.resource_name
    # Another organization's model does not exist for its members, even by exact name.
    with pytest.raises(NotFound):
        jobs.create_job(globex, spec)
    with pytest.raises(NotFound):
        jobs.estimate_job(globex, spec)
    with pytest.raises(NotFound):
        datasets.get_model(globex, model.resource_name)
    rows = jobs.estimate_job(acme, spec)
    assert rows and all(r.step_seconds > 0 for r in rows)  # costed by the cost model
    job = jobs.create_job(acme, spec)
    with pytest.raises(FailedPrecondition, match="is used by 1 job"):
        datasets.delete_model(acme, model.resource_name)

    live.start(env={"DOJO_STORAGE_URL": storage})
    drive(lambda: Job.objects.get(id=job.id).is_final, live.logs, timeout=240)
    job.refresh_from_db()
    assert job.state == "SUCCEEDED", (job.state_reason, live.logs())
    assert job.current_step == 4 and job.device_seconds > 0
    cached = tmp_path / "cache" / "models" / model.sha256
    assert cached.read_bytes() == onnx_bytes  # the worker's copy, checked by its sha256
    losses = [e.data["loss"] for e in jobs.job_events(acme, job.id) if e.kind == "metric"]
    assert len(losses) == 4 and all(np.isfinite(losses))

    datasets.delete_model(acme, model.resource_name)  # the job is final now
    with pytest.raises(NotFound):
        datasets.get_model(acme, model.resource_name)
    audited = set(
        AuditEvent.objects.filter(target=model.resource_name).values_list("action", flat=True)
    )
    assert audited == {"model.created", "model.deleted"}


def test_an_unsupported_operator_is_refused_at_upload_naming_the_node(
    transactional_db: None, settings: object, tmp_path: Path
) -> None:
    import onnx
    from onnx import helper

    settings.STORAGE_URL = (tmp_path / "storage").as_uri()  # type: ignore[attr-defined]
    acme, _ = two_tenants()
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 4])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, ["batch", 4])
    node = helper.make_node("Hardmax", ["x"], ["y"], name="odd_one")
    payload = helper.make_model(
        helper.make_graph([node], "g", [x], [y]), opset_imports=[helper.make_opsetid("", 17)]
    ).SerializeToString()
    with pytest.raises(InvalidArgument) as refused:
        datasets.upload_model(acme, _request("odd", payload, datasets.ONNX), [payload])
    (violation,) = refused.value.violations
    assert violation.field == "file" and "node 'odd_one' (Hardmax)" in violation.description
    assert not datasets.OnnxModel.objects.exists()  # nothing stored
