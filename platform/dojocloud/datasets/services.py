"""Datasets services: read, list, delete, and resolve a job's dataset name (other apps call
them through dojocloud.datasets.facade).

Every tenant-owned query goes through `datasets_for(principal)` or names the organization:
another organization's dataset is NotFound, indistinguishable from a missing one.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet, Sum

from dojo_runtime.config import CustomData
from dojocloud.audit.facade import Actor, AuditAction, record
from dojocloud.common.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from dojocloud.common.storage import blob_store, fetch_cached
from dojocloud.datasets import ports
from dojocloud.datasets.models import DELETING, NPZ, READY, Dataset, OnnxModel
from dojocloud.tenancy.facade import Action, Organization, Principal, actor_for, require

log = logging.getLogger(__name__)

ID_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
NAME_RE = re.compile(r"^organizations/(?P<org>[^/]+)/datasets/(?P<id>[^/]+)$")
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
BYTE_VOCAB = 256


def is_dataset_name(name: str) -> bool:
    """A resource name's shape (organizations/…/datasets/…), as opposed to a built-in."""
    return name.startswith("organizations/")


def parse_name(name: str, field: str = "name") -> tuple[str, str]:
    match = NAME_RE.match(name.strip())
    if match is None or not ID_RE.match(match["id"]):
        raise InvalidArgument(
            [FieldViolation(field, "must be organizations/{org}/datasets/{dataset}")]
        )
    return match["org"], match["id"]


def datasets_for(principal: Principal) -> QuerySet[Dataset]:
    """The one place dataset reads are scoped to the caller's organization."""
    require(principal, Action.DATASETS_READ)
    return Dataset.objects.select_related("organization").filter(
        organization=principal.organization, state=READY
    )


def get_dataset(principal: Principal, name: str, field: str = "name") -> Dataset:
    org, dataset_id = parse_name(name, field)
    found = None
    if org == principal.organization.slug:
        found = datasets_for(principal).filter(dataset_id=dataset_id).first()
    else:
        require(principal, Action.DATASETS_READ)
    if found is None:
        raise NotFound(name.strip())
    return found


def list_datasets(
    principal: Principal, *, page_size: int = 0, page_token: str = ""
) -> tuple[list[Dataset], str]:
    """A page in id order and the token of the next ("" at the end)."""
    return page_of(datasets_for(principal), "dataset_id", page_size, page_token)


def page_of(
    rows: QuerySet[Any], id_field: str, page_size: int, page_token: str
) -> tuple[list[Any], str]:
    """Rows in `id_field` order from after the token's id: a page and the next token."""
    size = page_size or DEFAULT_PAGE_SIZE
    if not 0 < size <= MAX_PAGE_SIZE:
        raise InvalidArgument(
            [FieldViolation("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")]
        )
    rows = rows.order_by(id_field)
    if page_token:
        rows = rows.filter(**{f"{id_field}__gt": _decode_token(page_token)})
    page = list(rows[: size + 1])
    more = len(page) > size
    page = page[:size]
    last = str(getattr(page[-1], id_field)) if more else ""
    return page, base64.urlsafe_b64encode(last.encode()).decode() if more else ""


def _decode_token(token: str) -> str:
    try:
        value = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        value = ""
    if not ID_RE.match(value):
        raise InvalidArgument([FieldViolation("page_token", "is not a token this API gave")])
    return value


def delete_dataset(principal: Principal, name: str, actor: Actor | None = None) -> None:
    """Deletes the dataset and its bytes; FailedPrecondition while a non-final job uses it."""
    require(principal, Action.DATASETS_WRITE)
    dataset = get_dataset(principal, name)
    delete_resource(
        principal,
        dataset,
        name,
        deleted=AuditAction.DATASET_DELETED,
        in_use="DATASET_IN_USE",
        audit=audit_state(dataset),
        actor=actor,
    )


def delete_resource(
    principal: Principal,
    row: Dataset | OnnxModel,
    name: str,
    *,
    deleted: AuditAction,
    in_use: str,
    audit: dict[str, object],
    actor: Actor | None,
) -> None:
    """Deletes an uploaded dataset or model and its bytes (audited); FailedPrecondition
    (reason `in_use`) while a non-final job names it. The row is marked DELETING first, so
    a job submitted meanwhile no longer resolves it."""
    rows = type(row).objects.filter(uid=row.uid)
    if not rows.filter(state=READY).update(state=DELETING):
        raise NotFound(name.strip())
    users = ports.users_of(principal.organization.id, row.resource_name)
    if users:
        rows.update(state=READY)
        shown = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
        err = FailedPrecondition(
            f"{row.resource_name} is used by {len(users)} job(s) that are not final: "
            f"{shown}; cancel them or wait for them to finish"
        )
        err.reason = in_use  # type: ignore[attr-defined]
        raise err
    with transaction.atomic():
        rows.delete()
        record(
            deleted,
            actor=actor or actor_for(principal),
            org_slug=principal.organization.slug,
            organization_id=principal.organization.pk,
            target=row.resource_name,
            before=audit,
        )
    blob_store().delete(row.storage_key)


def audit_state(dataset: Dataset) -> dict[str, object]:
    """What the audit row keeps of a dataset: what it is, never its bytes."""
    return {
        "format": dataset.format,
        "size_bytes": dataset.size_bytes,
        "sha256": dataset.sha256,
        "samples": int(dataset.summary.get("samples", 0)),
    }


def storage_used(organization: Organization) -> int:
    """Datasets and models share the organization's storage quota."""
    total = 0
    for rows in (Dataset.objects, OnnxModel.objects):
        total += int(
            rows.filter(organization=organization).aggregate(n=Sum("size_bytes"))["n"] or 0
        )
    return total


@dataclass(frozen=True)
class ResolvedDataset:
    """An uploaded dataset as a job needs it: the runtime's shapes and where its bytes are."""

    name: str
    meta: CustomData
    storage_key: str


def resolve(organization: Organization, name: str, field: str = "dataset.name") -> ResolvedDataset:
    """A job's `dataset.name` within `organization`: NotFound for a missing dataset and for
    one of another organization alike (validation, estimates and workers all ask here)."""
    org, dataset_id = parse_name(name, field)
    found = (
        Dataset.objects.filter(
            organization=organization, dataset_id=dataset_id, state=READY
        ).first()
        if org == organization.slug
        else None
    )
    if found is None:
        raise NotFound(name.strip())
    return ResolvedDataset(found.resource_name, runtime_meta(found), found.storage_key)


def runtime_meta(dataset: Dataset) -> CustomData:
    s = dataset.summary
    if dataset.format == NPZ:
        targets = int(s.get("targets", 0))  # rows from before regression: labels
        return CustomData(
            kind=NPZ,
            sample_shape=tuple(int(v) for v in s["sample_shape"]),
            num_classes=targets or int(s["num_classes"]),
            size=int(s["samples"]),
            sha256=dataset.sha256,
            targets=targets,
        )
    return CustomData(
        kind="text",
        sample_shape=(),
        num_classes=BYTE_VOCAB,
        size=int(dataset.size_bytes),
        sha256=dataset.sha256,
    )


def fetch_path(resolved: ResolvedDataset) -> Path:
    """The dataset's file on this machine: fetched once from storage into the local cache
    (keyed by sha256, checked), so a worker needs no disk shared with the API."""
    path: Path = fetch_cached(
        blob_store(), resolved.storage_key, resolved.meta.sha256, settings.CACHE_DIR / "datasets"
    )
    return path


def fetch(resolved: ResolvedDataset) -> bytes:
    """The dataset's bytes on this machine (fetch_path, read)."""
    return fetch_path(resolved).read_bytes()
