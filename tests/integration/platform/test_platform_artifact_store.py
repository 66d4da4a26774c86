"""Checkpoints and artifacts in object storage, on both backends (a folder, and S3 through
boto3 against moto's standalone S3 server): keys by org/job/attempt/segment, digests checked
on the way back, pruning after commit, the artifacts of a SUCCEEDED job produced from its
stored checkpoint, cross-tenant NOT_FOUND, and retention on an injected clock."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import onnxruntime as ort
import pytest
import torch
from django.core.management import call_command
from django.utils import timezone
from safetensors.torch import load

from dojo_runtime.training import Trainer
from dojocloud.artifacts.facade import (
    Artifact,
    get_artifact,
    list_artifacts,
    open_artifact,
    prune_expired,
    record_artifact,
)
from dojocloud.common.errors import InvalidArgument, NotFound
from dojocloud.common.storage import blob_store, read_all
from dojocloud.execution import checkpoints
from dojocloud.execution.artifacts import produce_artifacts
from dojocloud.jobs import services as jobs
from dojocloud.jobs.models import Checkpoint, Job
from dojocloud.jobs.runtime_config import train_config
from dojocloud.tenancy.facade import Principal
from tests.support.driving import tiny_spec
from tests.support.moto_s3 import moto_server, use_bucket
from tests.support.people import two_tenants

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["file", "s3"])
def store_url(request: pytest.FixtureRequest, settings: Any, tmp_path: Path) -> str:
    if request.param == "file":
        settings.STORAGE_URL = (tmp_path / "storage").as_uri()
        return str(settings.STORAGE_URL)
    return use_bucket(settings, request.getfixturevalue("s3_endpoint"))


def _snapshots(job: Job, steps: list[int]) -> list[bytes]:
    trainer = Trainer(train_config(jobs.spec_of(job)))
    state, blobs = trainer.initial_state(), []
    for step in steps:
        state = trainer.train(state, step)
        blobs.append(trainer.snapshot(state))
    return blobs


def test_checkpoints_are_stored_keyed_checked_and_pruned(store_url: str) -> None:
    acme, _ = two_tenants()
    job = jobs.create_job(acme, tiny_spec(steps=10, interval=2))
    blobs = _snapshots(job, [2, 4, 6, 8])
    for segment, blob in enumerate(blobs):
        checkpoints.save_checkpoint(
            job, step=2 * segment + 2, attempt=1, segment=segment, blob=blob
        )
    rows = list(Checkpoint.objects.filter(job=job).order_by("step"))
    assert [c.step for c in rows] == [4, 6, 8]  # the oldest went
    org = job.organization_id
    assert (
        rows[-1].key
        == f"orgs/{org}/jobs/{job.id}/checkpoints/attempt-1/segment-3/step-0000000008.pt"
    )
    store = blob_store()
    assert store.url.startswith(store_url.split("/dojo")[0])
    stored = sorted(b.key for b in store.list(f"orgs/{org}/jobs/{job.id}/checkpoints/"))
    assert stored == [c.key for c in rows]  # the pruned object went after the commit
    latest = checkpoints.latest_checkpoint(job.id)
    assert latest is not None and latest[0].step == 8 and latest[1] == blobs[3]
    # A damaged newest object: its digest no longer matches, the previous one is used.
    store.put(rows[-1].key, blobs[3][:-10] + b"0123456789")
    latest = checkpoints.latest_checkpoint(job.id)
    assert latest is not None and latest[0].step == 6 and latest[1] == blobs[2]
    store.delete(rows[-2].key)  # a lost one too
    latest = checkpoints.latest_checkpoint(job.id)
    assert latest is not None and latest[0].step == 4


def test_a_succeeded_job_gets_its_artifacts_from_the_stored_checkpoint(
    store_url: str, tmp_path: Path
) -> None:
    acme, globex = two_tenants()
    job = jobs.create_job(acme, tiny_spec(steps=4, interval=2))
    assert produce_artifacts(job.id) == []  # not SUCCEEDED: nothing
    blobs = _snapshots(job, [2, 4])
    for segment, blob in enumerate(blobs):
        checkpoints.save_checkpoint(
            job, step=2 * segment + 2, attempt=1, segment=segment, blob=blob
        )
    Job.objects.filter(id=job.id).update(state="SUCCEEDED")
    names = produce_artifacts(job.id)
    assert sorted(names) == [
        "checkpoint-step-0000000002.pt",
        "checkpoint-step-0000000004.pt",
        "metrics.csv",
        "model.onnx",
        "spec.json",
        "weights.safetensors",
    ]
    assert sorted(produce_artifacts(job.id)) == sorted(names)  # again: the same, replaced
    assert Artifact.objects.filter(job=job).count() == len(names)
    rows, token = list_artifacts(acme, f"organizations/acme/jobs/{job.id}", page_size=4)
    more, end = list_artifacts(acme, job.id, page_size=4, page_token=token)
    assert [a.name for a in rows + more] == sorted(names) and end == ""
    for artifact in rows + more:
        data = b"".join(open_artifact(artifact))
        assert hashlib.sha256(data).hexdigest() == artifact.sha256
        assert len(data) == artifact.size_bytes
    weights = load(_bytes(acme, job, "weights.safetensors"))
    saved = torch.load(io.BytesIO(blobs[1]), weights_only=True)["model"]
    assert all(torch.equal(weights[k], saved[k]) for k in saved)
    onnx = ort.InferenceSession(_bytes(acme, job, "model.onnx"))
    assert onnx.get_outputs()[0].name == "logits"
    assert _bytes(acme, job, "checkpoint-step-0000000004.pt") == blobs[1]
    _foreign_is_not_found(globex, job)


def _bytes(principal: Principal, job: Job, name: str) -> bytes:
    artifact = get_artifact(principal, f"organizations/acme/jobs/{job.id}/artifacts/{name}")
    return b"".join(open_artifact(artifact))


def _foreign_is_not_found(globex: Principal, job: Job) -> None:
    for call in (
        lambda: list_artifacts(globex, f"organizations/acme/jobs/{job.id}"),
        lambda: list_artifacts(globex, job.id),
        lambda: get_artifact(globex, f"organizations/acme/jobs/{job.id}/artifacts/model.onnx"),
        lambda: get_artifact(globex, f"organizations/globex/jobs/{job.id}/artifacts/model.onnx"),
    ):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(InvalidArgument):
        get_artifact(globex, f"organizations/acme/jobs/{job.id}/artifacts/../x")


def test_prune_deletes_expired_artifacts_and_their_objects(store_url: str, settings: Any) -> None:
    settings.ARTIFACT_RETENTION_DAYS = 30
    acme, _ = two_tenants()
    job = jobs.create_job(acme, tiny_spec(steps=4, interval=2))
    made = timezone.now()
    old = record_artifact(job, "metrics.csv", b"step,loss\n", "text/csv")
    assert old.expires_at is not None and old.expires_at - made >= timedelta(days=30)
    settings.ARTIFACT_RETENTION_DAYS = 0  # kept until deleted
    kept = record_artifact(job, "spec.json", b"{}", "application/json")
    assert kept.expires_at is None
    assert prune_expired(now=lambda: made + timedelta(days=29)) == 0
    call_command("prune_artifacts")  # the real clock: nothing has expired
    assert Artifact.objects.filter(job=job).count() == 2
    assert prune_expired(now=lambda: made + timedelta(days=31)) == 1
    assert list(Artifact.objects.filter(job=job).values_list("name", flat=True)) == ["spec.json"]
    store = blob_store()
    assert store.stat(old.storage_key) is None
    assert read_all(store, kept.storage_key) == b"{}"
