"""The resumable upload of a dataset: metadata first, then chunks, stored as parts of about
PART_BYTES under orgs/{org}/uploads/{upload}/ as they arrive (each part committed by a
conditional update of the upload's offset), checked and validated at the end.

Nothing becomes a dataset unless the whole file arrived, its sha256 matches and its format
validates; a refused file's parts and row are removed. A stream that breaks keeps its
committed parts: the same upload_id resumes from `committed` (GetUploadStatus). Uploads
idle for UPLOAD_EXPIRY are removed when the organization next uploads.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from dojocloud.audit.facade import Actor, record
from dojocloud.common.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)
from dojocloud.common.storage import BlobStore, blob_store
from dojocloud.datasets.formats import FormatError
from dojocloud.datasets.models import DATASET, MODEL, ONNX, Dataset, DatasetUpload, OnnxModel
from dojocloud.datasets.services import ID_RE, storage_used
from dojocloud.datasets.upload_kinds import KINDS, Row, UploadKind
from dojocloud.tenancy.facade import Organization, Principal, actor_for, require

MAX_CHUNK = 1024 * 1024  # bytes a chunk may carry
PART_BYTES = 8 * 1024 * 1024  # the server stores a part each time this much has arrived
UPLOAD_EXPIRY = timedelta(hours=24)
UPLOAD_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


class StorageQuotaExceeded(ResourceExhausted):
    retryable = False  # waiting does not help: delete datasets or ask for more


@dataclass(frozen=True)
class UploadRequest:
    dataset_id: str  # the id of what it becomes: a dataset's or (kind MODEL) a model's
    format: str  # "npz" | "text" | "onnx"
    size: int
    sha256: str
    upload_id: str
    offset: int = 0
    display_name: str = ""
    kind: str = DATASET  # DATASET | MODEL


def upload_status(principal: Principal, upload_id: str, kind: str = DATASET) -> DatasetUpload:
    require(principal, KINDS[kind].read)
    found = DatasetUpload.objects.filter(
        organization=principal.organization, upload_id=upload_id, kind=kind
    ).first()
    if found is None:
        raise NotFound(f"organizations/{principal.organization.slug}/uploads/{upload_id}")
    return found


def upload(
    principal: Principal,
    request: UploadRequest,
    chunks: Iterable[bytes],
    actor: Actor | None = None,
) -> Dataset:
    """Receives one stream of a dataset's upload; the dataset once the file is whole and
    valid. `actor` is who the audit trail names (default: the principal, from nowhere known)."""
    row = _upload(principal, replace(request, kind=DATASET), chunks, actor)
    assert isinstance(row, Dataset)
    return row


def upload_model(
    principal: Principal,
    request: UploadRequest,
    chunks: Iterable[bytes],
    actor: Actor | None = None,
) -> OnnxModel:
    """upload() for an ONNX model: the model once the file is whole and its graph imports."""
    row = _upload(principal, replace(request, kind=MODEL, format=ONNX), chunks, actor)
    assert isinstance(row, OnnxModel)
    return row


def _upload(
    principal: Principal, request: UploadRequest, chunks: Iterable[bytes], actor: Actor | None
) -> Row:
    state = begin(principal, request)
    receive(state, chunks)
    return finish(principal, state, actor)


def upload_chunk(
    principal: Principal, request: UploadRequest, chunk: bytes, actor: Actor | None = None
) -> tuple[DatasetUpload, Row | None]:
    """One chunk of a resumable upload at `request.offset` (a browser sends one request per
    chunk): the upload's state, and the dataset or model once this chunk completed the
    file. An offset other than the committed one is FailedPrecondition (reason
    UPLOAD_OFFSET_MISMATCH), so a client resumes from what the server holds."""
    state = begin(principal, request)
    receive(state, [chunk])
    if state.committed < state.size_bytes:
        return state, None
    return state, finish(principal, state, actor)


def begin(principal: Principal, request: UploadRequest) -> DatasetUpload:
    kind = KINDS[request.kind]
    require(principal, kind.write)
    org = principal.organization
    _check(request, kind)
    _expire(org)
    if kind.exists(org, request.dataset_id):
        raise AlreadyExists(kind.resource_name(org, request.dataset_id))
    state, _ = DatasetUpload.objects.get_or_create(
        organization=org,
        upload_id=request.upload_id,
        defaults={
            "kind": request.kind,
            "dataset_id": request.dataset_id,
            "display_name": request.display_name,
            "format": request.format,
            "size_bytes": request.size,
            "sha256": request.sha256,
            "creator_label": principal.label,
        },
    )
    same = (state.kind, state.dataset_id, state.format, state.size_bytes, state.sha256) == (
        request.kind,
        request.dataset_id,
        request.format,
        request.size,
        request.sha256,
    )
    if not same:
        raise InvalidArgument(
            [FieldViolation("upload_id", "is already used by an upload of a different file")]
        )
    _check_quota(org, request.size, state)
    if request.offset != state.committed:
        err = FailedPrecondition(
            f"upload {request.upload_id} has {state.committed} bytes committed; "
            f"resume from offset {state.committed}, not {request.offset}"
        )
        err.reason = "UPLOAD_OFFSET_MISMATCH"  # type: ignore[attr-defined]
        raise err
    return state


def _check(request: UploadRequest, kind: UploadKind) -> None:
    errors: list[FieldViolation] = []
    if not ID_RE.match(request.dataset_id):
        errors.append(
            FieldViolation(
                kind.id_field,
                "must be 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
            )
        )
    if request.format not in kind.formats:
        shown = " or ".join(f.upper() for f in kind.formats)
        errors.append(FieldViolation("metadata.format", f"must be {shown}"))
    limit = int(settings.DATASET_MAX_BYTES)
    if not 0 < request.size <= limit:
        errors.append(
            FieldViolation(
                "metadata.size",
                f"must be between 1 and {limit} bytes (DOJO_DATASET_MAX_BYTES), got {request.size}",
            )
        )
    if not SHA_RE.match(request.sha256):
        errors.append(FieldViolation("metadata.sha256", "must be 64 lowercase hex digits"))
    if not UPLOAD_ID_RE.match(request.upload_id):
        errors.append(
            FieldViolation("metadata.upload_id", "must be 1-64 of a-z, A-Z, 0-9, '-' and '_'")
        )
    if request.offset < 0:
        errors.append(FieldViolation("metadata.offset", "must not be negative"))
    if len(request.display_name) > 200:
        errors.append(FieldViolation("metadata.display_name", "must be at most 200 characters"))
    if errors:
        raise InvalidArgument(errors)


def _check_quota(org: Organization, size: int, state: DatasetUpload) -> None:
    """Datasets plus the other uploads in progress plus this one must fit the quota."""
    quota = int(settings.STORAGE_QUOTA_BYTES)
    pending = (
        DatasetUpload.objects.filter(
            organization=org, result__isnull=True, model_result__isnull=True
        )
        .exclude(uid=state.uid)
        .aggregate(n=Sum("size_bytes"))["n"]
        or 0
    )
    used = storage_used(org) + int(pending)
    if used + size > quota:
        raise StorageQuotaExceeded(
            f"storage quota of organizations/{org.slug}: {used} of {quota} bytes used "
            f"(DOJO_STORAGE_QUOTA_BYTES); this upload needs {size} more",
            subject=f"organizations/{org.slug}/storage",
        )


def _expire(org: Organization) -> None:
    cutoff = timezone.now() - UPLOAD_EXPIRY
    stale_uploads = DatasetUpload.objects.filter(
        organization=org, result__isnull=True, model_result__isnull=True, updated_at__lt=cutoff
    )
    for stale in stale_uploads:
        discard(stale)


def _prefix(state: DatasetUpload) -> str:
    return f"orgs/{state.organization_id}/uploads/{state.uid}/"


def receive(state: DatasetUpload, chunks: Iterable[bytes]) -> None:
    """Stores the stream's chunks as parts. A chunk over MAX_CHUNK, or bytes past the
    declared size, discard the whole upload; a broken stream keeps its committed parts."""
    store = blob_store()
    buffer = bytearray()
    refused = False
    try:
        for chunk in chunks:
            if len(chunk) > MAX_CHUNK:
                refused = True
                raise InvalidArgument(
                    [FieldViolation("chunk", f"is {len(chunk)} bytes; at most {MAX_CHUNK}")]
                )
            if state.committed + len(buffer) + len(chunk) > state.size_bytes:
                refused = True
                raise InvalidArgument(
                    [
                        FieldViolation(
                            "chunk",
                            f"the upload sends more than its declared size of "
                            f"{state.size_bytes} bytes; nothing was stored",
                        )
                    ]
                )
            buffer += chunk
            if len(buffer) >= PART_BYTES:
                _commit_part(store, state, bytes(buffer))
                buffer.clear()
    finally:
        if refused:
            discard(state)
        elif buffer:
            _commit_part(store, state, bytes(buffer))


def _commit_part(store: BlobStore, state: DatasetUpload, data: bytes) -> None:
    offset = state.committed
    key = f"{_prefix(state)}part-{offset:016d}"
    store.put(key, data)
    moved = DatasetUpload.objects.filter(uid=state.uid, committed=offset).update(
        committed=F("committed") + len(data), updated_at=timezone.now()
    )
    if not moved:  # another stream of the same upload won: this part is not ours
        store.delete(key)
        raise FailedPrecondition(f"upload {state.upload_id} is being written by another stream")
    state.committed = offset + len(data)


def finish(principal: Principal, state: DatasetUpload, actor: Actor | None = None) -> Row:
    org = principal.organization
    kind = KINDS[state.kind]
    if state.committed < state.size_bytes:
        raise InvalidArgument(
            [
                FieldViolation(
                    "chunk",
                    f"truncated upload: {state.committed} of {state.size_bytes} bytes "
                    f"received; no {kind.name} was stored. Resume from offset {state.committed} "
                    f"with upload_id {state.upload_id}",
                )
            ]
        )
    store = blob_store()
    payload = _assemble(store, state)
    actual = hashlib.sha256(payload).hexdigest()
    if actual != state.sha256:
        discard(state)
        raise InvalidArgument(
            [
                FieldViolation(
                    "metadata.sha256",
                    f"the received file's sha256 is {actual}, not {state.sha256}; "
                    "nothing was stored",
                )
            ]
        )
    try:
        summary = kind.validate(state.format, payload)
    except FormatError as exc:
        discard(state)
        raise InvalidArgument([FieldViolation("file", f"{exc}; nothing was stored")]) from None
    row = kind.new_row(org, state, summary)
    row.storage_key = f"orgs/{org.id}/{kind.collection}/{row.uid}/data"
    store.put(row.storage_key, payload)
    try:
        with transaction.atomic():
            row.save(force_insert=True)
            done = {"model_result": row} if kind.name == MODEL else {"result": row}
            DatasetUpload.objects.filter(uid=state.uid).update(**done)
            record(
                kind.created,
                actor=actor or actor_for(principal),
                org_slug=org.slug,
                organization_id=org.pk,
                target=row.resource_name,
                after=kind.audit_state(row),
            )
    except IntegrityError:
        store.delete(row.storage_key)
        discard(state)
        raise AlreadyExists(row.resource_name) from None
    _delete_parts(store, state)
    return row


def _assemble(store: BlobStore, state: DatasetUpload) -> bytes:
    """The committed parts in order (each starts where the previous ended)."""
    out = bytearray()
    for blob in store.list(_prefix(state)):
        offset = int(blob.key.rsplit("-", 1)[1])
        if offset != len(out) or offset >= state.committed:
            continue  # a part no conditional update committed
        for chunk in store.get(blob.key):
            out += chunk
    return bytes(out[: state.committed])


def _delete_parts(store: BlobStore, state: DatasetUpload) -> None:
    for blob in list(store.list(_prefix(state))):
        store.delete(blob.key)


def discard(state: DatasetUpload) -> None:
    """Removes an upload: its parts and its row."""
    _delete_parts(blob_store(), state)
    DatasetUpload.objects.filter(uid=state.uid).delete()
