"""Checkpoints in object storage (dojocloud.common.storage), recorded in a Checkpoint row.

The worker that ends a segment puts the blob under
`orgs/{org}/jobs/{job}/checkpoints/attempt-{a}/segment-{s}/step-{step}.pt`; the row keeps
that key and the blob's sha256. Whichever worker runs the next segment, on whatever host,
reads it back through the same store and checks the digest: no disk is shared. A store's
writes are atomic, so a worker killed mid-write leaves the previous checkpoint or the new
one, never half of one. The blob is the runtime's snapshot, which the job process loads with
`torch.load(weights_only=True)`: plain tensors and numbers, never unpickled objects."""

from __future__ import annotations

import hashlib
import logging

from django.db import transaction
from django.utils import timezone

from dojocloud.common.storage import StorageError, blob_store, read_all
from dojocloud.jobs.facade import Checkpoint, Job

log = logging.getLogger(__name__)
KEEP_LATEST = 3


def checkpoint_key(org_id: int, job_id: str, *, attempt: int, segment: int, step: int) -> str:
    return (
        f"orgs/{org_id}/jobs/{job_id}/checkpoints/"
        f"attempt-{attempt}/segment-{segment}/step-{step:010d}.pt"
    )


def save_checkpoint(job: Job, *, step: int, attempt: int, segment: int, blob: bytes) -> Checkpoint:
    key = checkpoint_key(job.organization_id, job.id, attempt=attempt, segment=segment, step=step)
    blob_store().put(key, blob)
    checkpoint, _ = Checkpoint.objects.update_or_create(
        job_id=job.id,
        step=step,
        defaults={
            "attempt": attempt,
            "segment": segment,
            "key": key,
            "size_bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
            "created_at": timezone.now(),
        },
    )
    Job.objects.filter(id=job.id).update(last_checkpoint_at=checkpoint.created_at)
    _prune(job.id)
    return checkpoint


def read_checkpoint(checkpoint: Checkpoint) -> bytes | None:
    """The checkpoint's bytes when they are in the store and match their sha256; else None
    (a lost or damaged object: the caller falls back to an earlier checkpoint)."""
    try:
        blob = read_all(blob_store(), checkpoint.key)
    except (FileNotFoundError, StorageError) as exc:
        log.warning("checkpoint %s unreadable: %s", checkpoint.key, exc)
        return None
    if hashlib.sha256(blob).hexdigest() != checkpoint.sha256:
        log.warning("checkpoint %s does not match its sha256", checkpoint.key)
        return None
    return blob


def latest_checkpoint(job_id: str) -> tuple[Checkpoint, bytes] | None:
    """The newest checkpoint whose stored bytes are intact (their hash matches), if any."""
    for checkpoint in Checkpoint.objects.filter(job_id=job_id).order_by("-step"):
        blob = read_checkpoint(checkpoint)
        if blob is not None:
            return checkpoint, blob
    return None


def _prune(job_id: str) -> None:
    old = list(Checkpoint.objects.filter(job_id=job_id).order_by("-step")[KEEP_LATEST:])
    keys = [c.key for c in old]
    Checkpoint.objects.filter(pk__in=[c.pk for c in old]).delete()
    # The objects go once the rows' removal committed: a rolled-back segment keeps both.
    transaction.on_commit(lambda: _delete_blobs(keys))


def _delete_blobs(keys: list[str]) -> None:
    store = blob_store()
    for key in keys:
        store.delete(key)
