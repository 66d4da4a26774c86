"""Datasets' public entry: the only module of datasets that other apps import.

Uploaded datasets (organizations/{org}/datasets/{id}): the resumable upload, read, list,
delete, resolving a job's `dataset.name` to the runtime's shapes, and fetching the bytes on
a worker. Below jobs: jobs registers who uses a dataset (`register_users_check`), so a
dataset in use is not deleted."""

from dojocloud.datasets.models import NPZ, TEXT, Dataset, DatasetUpload
from dojocloud.datasets.ports import register_users_check
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
    upload_status,
)

__all__ = [
    "MAX_CHUNK",
    "NPZ",
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
    "upload_status",
]
