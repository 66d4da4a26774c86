"""What an upload becomes: a dataset or a model. Both arrive through the same resumable
upload (uploads.py); each kind says who may upload it, which formats it takes, how its bytes
are validated, and the row and audit entry it becomes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dojocloud.audit.facade import AuditAction
from dojocloud.datasets import model_services, services
from dojocloud.datasets.formats import FormatError, summarize
from dojocloud.datasets.models import (
    DATASET,
    MODEL,
    NPZ,
    ONNX,
    TEXT,
    Dataset,
    DatasetUpload,
    OnnxModel,
)
from dojocloud.tenancy.facade import Action, Organization

Row = Dataset | OnnxModel


@dataclass(frozen=True)
class UploadKind:
    name: str  # DATASET | MODEL
    collection: str  # in resource names and storage keys: "datasets" | "models"
    id_field: str  # the metadata field naming the id, for error messages
    formats: tuple[str, ...]
    read: Action
    write: Action
    created: AuditAction
    validate: Callable[[str, bytes], dict[str, Any]]  # (format, payload) -> summary
    new_row: Callable[[Organization, DatasetUpload, dict[str, Any]], Row]
    exists: Callable[[Organization, str], bool]
    audit_state: Callable[[Any], dict[str, object]]

    def resource_name(self, org: Organization, resource_id: str) -> str:
        return f"organizations/{org.slug}/{self.collection}/{resource_id}"


def _validate_model(format: str, payload: bytes) -> dict[str, Any]:
    try:
        return model_services.inspect_onnx(payload)
    except model_services.ModelFormatError as exc:
        raise FormatError(str(exc)) from None


def _new_dataset(org: Organization, state: DatasetUpload, summary: dict[str, Any]) -> Row:
    return Dataset(
        organization=org,
        dataset_id=state.dataset_id,
        display_name=state.display_name,
        format=state.format,
        size_bytes=state.size_bytes,
        sha256=state.sha256,
        summary=summary,
        creator_label=state.creator_label,
    )


def _new_model(org: Organization, state: DatasetUpload, summary: dict[str, Any]) -> Row:
    return OnnxModel(
        organization=org,
        model_id=state.dataset_id,
        display_name=state.display_name,
        size_bytes=state.size_bytes,
        sha256=state.sha256,
        summary=summary,
        creator_label=state.creator_label,
    )


KINDS: dict[str, UploadKind] = {
    DATASET: UploadKind(
        DATASET,
        "datasets",
        "metadata.dataset_id",
        (NPZ, TEXT),
        Action.DATASETS_READ,
        Action.DATASETS_WRITE,
        AuditAction.DATASET_CREATED,
        summarize,
        _new_dataset,
        lambda org, i: Dataset.objects.filter(organization=org, dataset_id=i).exists(),
        services.audit_state,
    ),
    MODEL: UploadKind(
        MODEL,
        "models",
        "metadata.model_id",
        (ONNX,),
        Action.MODELS_READ,
        Action.MODELS_WRITE,
        AuditAction.MODEL_CREATED,
        _validate_model,
        _new_model,
        lambda org, i: OnnxModel.objects.filter(organization=org, model_id=i).exists(),
        model_services.audit_state,
    ),
}
