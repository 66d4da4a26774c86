"""A job's durable log in object storage, without a shared disk and without append.

The worker that runs a segment appends the lines its job process sent as numbered chunk
objects, `jobs/{job}/logs/{seq:08d}-{nonce}`, and one JobLogChunk row per chunk with its
byte offset in the whole log. The object is written before its row, so a row always names a
whole object; two writers racing for the same number (a worker that lost its lease and the
one that took over) collide on the row's unique (job, seq), and the loser takes the next
number. Readers ask for bytes from an offset: the rows say which chunks hold them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from dojocloud.common.errors import FieldViolation, InvalidArgument
from dojocloud.common.storage import BlobStore, blob_store, read_all
from dojocloud.jobs.lifecycle import FINAL_STATES
from dojocloud.jobs.models import Job, JobLogChunk
from dojocloud.jobs.services import get_job
from dojocloud.tenancy.facade import Principal

READ_LIMIT = 256 * 1024  # bytes one read returns at most (whole chunks past the first)
_APPEND_TRIES = 5


@dataclass(frozen=True)
class LogRead:
    offset: int  # where `data` starts in the log
    data: bytes
    next_offset: int  # resume here
    size: int  # the log's size when read


def append_log(job_id: str, data: bytes, store: BlobStore | None = None) -> int:
    """Appends `data` (whole lines) as the job's next chunk; returns the offset it got."""
    store = store or blob_store()
    for _ in range(_APPEND_TRIES):
        last = JobLogChunk.objects.filter(job_id=job_id).order_by("-seq").first()
        seq, offset = (last.seq + 1, last.end) if last is not None else (0, 0)
        key = f"jobs/{job_id}/logs/{seq:08d}-{uuid.uuid4().hex[:8]}"
        store.put(key, data)
        try:
            with transaction.atomic():
                JobLogChunk.objects.create(
                    job_id=job_id, seq=seq, offset=offset, size=len(data), key=key
                )
            return offset
        except IntegrityError:  # another writer took this number: try the next one
            store.delete(key)
    raise RuntimeError(f"job {job_id}: could not append to its log")


def log_size(job: Job) -> int:
    last = JobLogChunk.objects.filter(job=job).order_by("-seq").first()
    return last.end if last is not None else 0


def read_job_log(
    principal: Principal, job_id: str, *, offset: int = 0, limit: int = READ_LIMIT
) -> LogRead:
    """The caller's job's log from byte `offset`: up to about `limit` bytes (at least one
    chunk's worth when there is any). An offset past the end is an InvalidArgument."""
    job = get_job(principal, job_id)  # NotFound for another organization's job
    size = log_size(job)
    if offset < 0 or offset > size:
        raise InvalidArgument(
            [FieldViolation("offset", f"must be between 0 and the log's size, {size}")]
        )
    chunks = JobLogChunk.objects.filter(job=job, offset__lt=size).order_by("seq")
    chunks = chunks.filter(offset__gte=_chunk_start(job, offset))
    store, parts, read = blob_store(), [], 0
    for chunk in chunks.iterator():
        if read >= limit:
            break
        data = read_all(store, chunk.key)[max(offset + read - chunk.offset, 0) :]
        parts.append(data)
        read += len(data)
    return LogRead(offset, b"".join(parts), offset + read, size)


def _chunk_start(job: Job, offset: int) -> int:
    """The offset of the chunk that holds byte `offset` (the log's end: none, so `offset`)."""
    holder = (
        JobLogChunk.objects.filter(job=job, offset__lte=offset)
        .order_by("-seq")
        .values_list("offset", flat=True)
        .first()
    )
    return holder if holder is not None else offset


def log_tail(job_id: str, count: int, store: BlobStore | None = None) -> tuple[str, ...]:
    """The last `count` lines of the job's log (read from its last chunks), for a failure
    recorded away from the worker that wrote them."""
    store = store or blob_store()
    lines: list[str] = []
    for chunk in JobLogChunk.objects.filter(job_id=job_id).order_by("-seq")[:count]:
        lines = read_all(store, chunk.key).decode(errors="replace").splitlines() + lines
        if len(lines) >= count:
            break
    return tuple(lines[-count:]) if count > 0 else ()


def prune_expired_logs(now: Callable[[], datetime] = timezone.now) -> int:
    """Deletes the logs of jobs that ended more than DOJO_LOG_RETENTION_DAYS ago (0: none),
    rows first, then their objects, in batches; returns how many chunks went. A job's
    failure record keeps its last lines. `now` is injected (tests run it on a chosen clock)."""
    days = int(settings.LOG_RETENTION_DAYS)
    if days <= 0:
        return 0
    expired = JobLogChunk.objects.filter(
        job__state__in=FINAL_STATES, job__ended_at__lte=now() - timedelta(days=days)
    )
    store, pruned = blob_store(), 0
    while batch := list(expired.values_list("pk", "key")[:1000]):
        JobLogChunk.objects.filter(pk__in=[pk for pk, _ in batch]).delete()
        for _, key in batch:
            store.delete(key)
        pruned += len(batch)
    return pruned
