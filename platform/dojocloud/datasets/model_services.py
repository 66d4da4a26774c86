"""ONNX models the customer brings: validating an upload (the runtime's converter, pure),
read, list, delete, and resolving a job's `model.onnx` to the file (other apps call them
through dojocloud.datasets.facade).

Every tenant-owned query goes through `models_for(principal)` or names the organization:
another organization's model is NotFound, indistinguishable from a missing one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from dojo_runtime.onnx_import import OnnxImportError, check, parse, summarize
from dojocloud.audit.facade import Actor, AuditAction
from dojocloud.common.errors import FieldViolation, InvalidArgument, NotFound
from dojocloud.common.storage import blob_store, fetch_cached
from dojocloud.datasets.models import READY, OnnxModel
from dojocloud.datasets.services import ID_RE, delete_resource, page_of
from dojocloud.tenancy.facade import Action, Organization, Principal, require

NAME_RE = re.compile(r"^organizations/(?P<org>[^/]+)/models/(?P<id>[^/]+)$")


class ModelFormatError(ValueError):
    """The file is not an importable ONNX model; the message names the node and op type."""


def inspect_onnx(payload: bytes) -> dict[str, Any]:
    """What the OnnxModel row records: the graph's inputs, outputs, op counts, parameters.
    Parsing reads the protobuf only; nothing in the file is executed."""
    try:
        graph = parse(payload)
        check(graph)
    except OnnxImportError as exc:
        raise ModelFormatError(str(exc)) from None
    s = summarize(graph)

    def tensors(values: Any) -> list[dict[str, Any]]:
        return [{"name": v.name, "shape": list(v.shape), "dtype": v.dtype} for v in values]

    return {
        "inputs": tensors(s.inputs),
        "outputs": tensors(s.outputs),
        "op_counts": s.op_counts,
        "parameters": s.parameters,
        "opset": s.opset,
    }


def is_model_name(name: str) -> bool:
    return NAME_RE.match(name.strip()) is not None


def parse_name(name: str, field: str = "name") -> tuple[str, str]:
    match = NAME_RE.match(name.strip())
    if match is None or not ID_RE.match(match["id"]):
        raise InvalidArgument([FieldViolation(field, "must be organizations/{org}/models/{model}")])
    return match["org"], match["id"]


def models_for(principal: Principal) -> Any:
    """The one place model reads are scoped to the caller's organization."""
    require(principal, Action.MODELS_READ)
    return OnnxModel.objects.select_related("organization").filter(
        organization=principal.organization, state=READY
    )


def get_model(principal: Principal, name: str, field: str = "name") -> OnnxModel:
    org, model_id = parse_name(name, field)
    found = None
    if org == principal.organization.slug:
        found = models_for(principal).filter(model_id=model_id).first()
    else:
        require(principal, Action.MODELS_READ)
    if found is None:
        raise NotFound(name.strip())
    return found  # type: ignore[no-any-return]


def list_models(
    principal: Principal, *, page_size: int = 0, page_token: str = ""
) -> tuple[list[OnnxModel], str]:
    """A page in id order and the token of the next ("" at the end)."""
    return page_of(models_for(principal), "model_id", page_size, page_token)


def delete_model(principal: Principal, name: str, actor: Actor | None = None) -> None:
    """Deletes the model and its bytes; FailedPrecondition while a non-final job uses it."""
    require(principal, Action.MODELS_WRITE)
    model = get_model(principal, name)
    delete_resource(
        principal,
        model,
        name,
        deleted=AuditAction.MODEL_DELETED,
        in_use="MODEL_IN_USE",
        audit=audit_state(model),
        actor=actor,
    )


def audit_state(model: OnnxModel) -> dict[str, object]:
    """What the audit row keeps of a model: what it is, never its bytes."""
    return {
        "size_bytes": model.size_bytes,
        "sha256": model.sha256,
        "parameters": int(model.summary.get("parameters", 0)),
    }


@dataclass(frozen=True)
class ResolvedModel:
    """An uploaded model as a job needs it: its digest and where its bytes are."""

    name: str
    sha256: str
    storage_key: str


def resolve_model(
    organization: Organization, name: str, field: str = "model.onnx"
) -> ResolvedModel:
    """A job's `model.onnx` within `organization`: NotFound for a missing model and for one
    of another organization alike (validation, estimates and workers all ask here)."""
    org, model_id = parse_name(name, field)
    found = (
        OnnxModel.objects.filter(organization=organization, model_id=model_id, state=READY).first()
        if org == organization.slug
        else None
    )
    if found is None:
        raise NotFound(name.strip())
    return ResolvedModel(found.resource_name, found.sha256, found.storage_key)


def fetch_model_path(resolved: ResolvedModel) -> Path:
    """The model's file on this machine: fetched once from storage into the local cache
    (keyed by sha256, checked), as datasets are."""
    path: Path = fetch_cached(
        blob_store(), resolved.storage_key, resolved.sha256, settings.CACHE_DIR / "models"
    )
    return path


def fetch_model(resolved: ResolvedModel) -> bytes:
    return fetch_model_path(resolved).read_bytes()
