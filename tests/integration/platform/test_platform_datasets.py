"""A job on an uploaded dataset, on a real worker process: the bytes go to object storage
through the datasets facade, the worker fetches them into its own cache and the job process
trains on them (not on a built-in)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from platform_worker_procs import Workers
from test_platform_worker import owner_principal

from dojocloud.datasets import facade as datasets
from dojocloud.execution.checkpoints import latest_checkpoint
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Job
from tests.support.driving import drive, tiny_spec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FEATURES, CLASSES, SAMPLES = 13, 5, 60  # unlike digits (64 features, 10 classes)


def npz_payload() -> bytes:
    rng = np.random.default_rng(7)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        x=rng.normal(size=(SAMPLES, FEATURES)).astype(np.float32),
        y=(np.arange(SAMPLES) % CLASSES).astype(np.int64),
    )
    return buffer.getvalue()


def test_a_job_trains_on_an_uploaded_dataset_on_a_worker(
    live: Workers, settings: object, tmp_path: Path
) -> None:
    storage = (tmp_path / "storage").as_uri()
    settings.STORAGE_URL = storage  # type: ignore[attr-defined]
    settings.CACHE_DIR = tmp_path / "api-cache"  # type: ignore[attr-defined]
    principal = owner_principal()
    payload = npz_payload()
    chunks = [payload[i : i + 4096] for i in range(0, len(payload), 4096)]
    dataset = datasets.upload(
        principal,
        datasets.UploadRequest(
            dataset_id="thirteen",
            format=datasets.NPZ,
            size=len(payload),
            sha256=hashlib.sha256(payload).hexdigest(),
            upload_id="up-1",
        ),
        chunks,
    )
    assert dataset.resource_name == "organizations/acme/datasets/thirteen"
    spec = tiny_spec(steps=4, interval=4)
    spec.dataset.name = dataset.resource_name
    job = jobs.create_job(principal, spec)
    # The worker has its own cache folder: it fetches the bytes from storage itself.
    live.start(env={"DOJO_STORAGE_URL": storage})
    drive(lambda: Job.objects.get(id=job.id).is_final, live.logs, timeout=240)
    job.refresh_from_db()
    assert job.state == "SUCCEEDED", (job.state_reason, live.logs())
    assert job.current_step == 4
    cached = tmp_path / "cache" / "datasets" / dataset.sha256
    assert cached.read_bytes() == payload  # the worker's copy, checked by its sha256
    restored = latest_checkpoint(job.id)
    assert restored is not None and restored[0].step == 4
    weights = torch.load(io.BytesIO(restored[1]), weights_only=True)["model"]
    shapes = [tuple(v.shape) for k, v in weights.items() if k.endswith("weight")]
    # The model was built for the uploaded data: 13 inputs in, 5 classes out.
    assert shapes[0][1] == FEATURES and shapes[-1][0] == CLASSES, shapes
    losses = [e.data["loss"] for e in jobs.job_events(principal, job.id) if e.kind == "metric"]
    assert len(losses) == 4 and all(np.isfinite(losses))
