"""Artifacts services: record (the worker side), list, open for download, prune expired.

Reads are scoped to the caller's organization in `artifacts_for`: another organization's
job or artifact is NotFound, indistinguishable from a missing one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from dojocloud.artifacts.models import Artifact
from dojocloud.common.errors import FieldViolation, InvalidArgument, NotFound
from dojocloud.common.storage import blob_store
from dojocloud.jobs.facade import Job, resolve_job
from dojocloud.tenancy.facade import Action, Principal, require

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
RESOURCE_RE = re.compile(r"^organizations/(?P<org>[^/]+)/jobs/(?P<job>[^/]+)/artifacts/(?P<a>.+)$")
PARENT_RE = re.compile(r"^organizations/(?P<org>[^/]+)/jobs/(?P<job>[^/]+)$")
BARE_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # a job id, name or id prefix
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def storage_key(job: Job, name: str) -> str:
    return f"orgs/{job.organization_id}/jobs/{job.id}/artifacts/{name}"


def expiry(now: datetime) -> datetime | None:
    days = int(settings.ARTIFACT_RETENTION_DAYS)
    return now + timedelta(days=days) if days > 0 else None


def record_artifact(job: Job, name: str, data: bytes, content_type: str) -> Artifact:
    """Stores `data` as the job's artifact `name` and records it; again: replaces it."""
    key = storage_key(job, name)
    blob_store().put(key, data)
    return record_stored(job, name, key, len(data), hashlib.sha256(data).hexdigest(), content_type)


def record_stored(
    job: Job, name: str, key: str, size: int, sha256: str, content_type: str
) -> Artifact:
    """Records an object already in the store (a checkpoint's) as the job's artifact."""
    if not NAME_RE.match(name):
        raise ValueError(f"bad artifact name {name!r}")
    now = timezone.now()
    fields = {
        "organization_id": job.organization_id,
        "storage_key": key,
        "size_bytes": size,
        "sha256": sha256,
        "content_type": content_type,
        "created_at": now,
        "expires_at": expiry(now),
    }
    try:
        with transaction.atomic():
            artifact, _ = Artifact.objects.update_or_create(job=job, name=name, defaults=fields)
    except IntegrityError:  # a concurrent recorder inserted first: update its row
        artifact, _ = Artifact.objects.update_or_create(job=job, name=name, defaults=fields)
    return artifact


def artifacts_for(principal: Principal) -> QuerySet[Artifact]:
    """The one place artifact reads are scoped to the caller's organization."""
    require(principal, Action.ARTIFACTS_READ)
    return Artifact.objects.select_related("organization").filter(
        organization=principal.organization
    )


def _job(principal: Principal, org: str, ref: str, shown: str) -> Job:
    require(principal, Action.ARTIFACTS_READ)
    if org != principal.organization.slug:
        raise NotFound(shown)
    return resolve_job(principal, ref)


def list_artifacts(
    principal: Principal, parent: str, *, page_size: int = 0, page_token: str = ""
) -> tuple[list[Artifact], str]:
    """A page of the job's artifacts in name order, and the next page's token ("" at the
    end). `parent` names the job as GetJob does: organizations/{org}/jobs/{ref} or a bare
    ref (an id, a name unique in the organization, an id prefix)."""
    parent = parent.strip()
    match = PARENT_RE.match(parent)
    if match is None and not BARE_REF_RE.match(parent):
        raise InvalidArgument(
            [FieldViolation("parent", "must be organizations/{org}/jobs/{job} or a job's id")]
        )
    size = page_size or DEFAULT_PAGE_SIZE
    if not 0 < size <= MAX_PAGE_SIZE:
        raise InvalidArgument(
            [FieldViolation("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")]
        )
    org, ref = (match["org"], match["job"]) if match else (principal.organization.slug, parent)
    job = _job(principal, org, ref, parent)
    rows = artifacts_for(principal).filter(job=job).order_by("name")
    if page_token:
        rows = rows.filter(name__gt=_decode_token(page_token))
    page = list(rows[: size + 1])
    more = len(page) > size
    page = page[:size]
    token = base64.urlsafe_b64encode(page[-1].name.encode()).decode() if more else ""
    return page, token


def _decode_token(token: str) -> str:
    try:
        value = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        value = ""
    if not NAME_RE.match(value):
        raise InvalidArgument([FieldViolation("page_token", "is not a token this API gave")])
    return value


def get_artifact(principal: Principal, name: str, field: str = "name") -> Artifact:
    match = RESOURCE_RE.match(name.strip())
    if match is None or not NAME_RE.match(match["a"]):
        raise InvalidArgument(
            [FieldViolation(field, "must be organizations/{org}/jobs/{job}/artifacts/{artifact}")]
        )
    job = _job(principal, match["org"], match["job"], name.strip())
    found = artifacts_for(principal).filter(job=job, name=match["a"]).first()
    if found is None:
        raise NotFound(name.strip())
    return found


def job_artifacts(principal: Principal, job_id: str) -> list[Artifact]:
    """Every artifact of the caller's job `job_id` (the portal's job page)."""
    return list(artifacts_for(principal).filter(job_id=job_id).order_by("name"))


def open_artifact(artifact: Artifact) -> Iterator[bytes]:
    """The artifact's bytes from object storage, in chunks (FileNotFoundError if gone)."""
    return blob_store().get(artifact.storage_key)


def prune_expired(now: Callable[[], datetime] = timezone.now) -> int:
    """Deletes the artifacts whose retention ended, rows first, then their objects; returns
    how many went. `now` is injected (tests run it on a chosen clock)."""
    expired = list(Artifact.objects.filter(expires_at__lte=now()).values_list("pk", "storage_key"))
    if not expired:
        return 0
    Artifact.objects.filter(pk__in=[pk for pk, _ in expired]).delete()
    store = blob_store()
    for _, key in expired:
        store.delete(key)
    return len(expired)
