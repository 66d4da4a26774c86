"""Datasets' public entry: the only module of datasets that other apps import.

Uploaded datasets (organizations/{org}/datasets/{id}) and ONNX models
(organizations/{org}/models/{id}): the resumable upload, read, list, delete, resolving a
job's `dataset.name` / `model.onnx`, and fetching the bytes on a worker. Below jobs: jobs registers who uses a dataset (`register_users_check`), so a
dataset in use is not deleted."""

from dojocloud.datasets.model_services import (
    ResolvedModel,
    delete_model,
    fetch_model,
    fetch_model_path,
    get_model,
    is_model_name,
    list_models,
    models_for,
    resolve_model,
)
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
from dojocloud.datasets.ports import register_users_check
from dojocloud.datasets.previews import Preview, is_image_data, previews
from dojocloud.datasets.services import (
    ResolvedDataset,
    datasets_for,
    delete_dataset,
    fetch,
    fetch_path,
    get_dataset,
    is_dataset_name,
    list_datasets,
    parse_name,
    resolve,
    storage_used,
)
from dojocloud.datasets.uploads import (
    MAX_CHUNK,
    StorageQuotaExceeded,
    UploadRequest,
    upload,
    upload_chunk,
    upload_model,
    upload_status,
)

__all__ = [
    "Preview",
    "is_image_data",
    "previews",
    "DATASET",
    "MAX_CHUNK",
    "MODEL",
    "NPZ",
    "ONNX",
    "OnnxModel",
    "ResolvedModel",
    "delete_model",
    "fetch_model",
    "fetch_model_path",
    "get_model",
    "is_model_name",
    "list_models",
    "models_for",
    "resolve_model",
    "TEXT",
    "Dataset",
    "DatasetUpload",
    "ResolvedDataset",
    "StorageQuotaExceeded",
    "UploadRequest",
    "datasets_for",
    "delete_dataset",
    "fetch",
    "fetch_path",
    "get_dataset",
    "is_dataset_name",
    "list_datasets",
    "parse_name",
    "register_users_check",
    "resolve",
    "storage_used",
    "upload",
    "upload_chunk",
    "upload_model",
    "upload_status",
]
