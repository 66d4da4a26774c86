"""Checkpoint files under DOJO_DATA_DIR, written atomically and recorded in a Checkpoint row.

A file is written to a temporary name, flushed to disk and renamed into place, so a worker
killed mid-write leaves either the previous checkpoint or the new one, never half of one."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from dojocloud.jobs.facade import Checkpoint, Job

KEEP_LATEST = 3


def _job_dir(job_id: str) -> Path:
    return Path(settings.CHECKPOINT_DIR) / job_id


def save_checkpoint(
    job_id: str, *, step: int, attempt: int, segment: int, blob: bytes
) -> Checkpoint:
    directory = _job_dir(job_id)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"step-{step:010d}.pt"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".pt")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    checkpoint, _ = Checkpoint.objects.update_or_create(
        job_id=job_id,
        step=step,
        defaults={
            "attempt": attempt,
            "segment": segment,
            "path": str(path),
            "size_bytes": len(blob),
            "sha256": hashlib.sha256(blob).hexdigest(),
            "created_at": timezone.now(),
        },
    )
    Job.objects.filter(id=job_id).update(last_checkpoint_at=checkpoint.created_at)
    _prune(job_id)
    return checkpoint


def latest_checkpoint(job_id: str) -> tuple[Checkpoint, bytes] | None:
    """The newest checkpoint whose file is intact (its hash matches), if any."""
    for checkpoint in Checkpoint.objects.filter(job_id=job_id).order_by("-step"):
        try:
            blob = Path(checkpoint.path).read_bytes()
        except OSError:
            continue
        if hashlib.sha256(blob).hexdigest() == checkpoint.sha256:
            return checkpoint, blob
    return None


def _prune(job_id: str) -> None:
    old = list(Checkpoint.objects.filter(job_id=job_id).order_by("-step")[KEEP_LATEST:])
    for checkpoint in old:
        Path(checkpoint.path).unlink(missing_ok=True)
        checkpoint.delete()
