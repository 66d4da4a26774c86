"""DatasetService methods of the typed client (mixed into `dojo.client.Client`).

`create_dataset(path, "my-data")` uploads a file in chunks and returns the Dataset; running
the same upload again resumes it (dojo.uploads: the loop models share). The upload's
metadata and messages are built here for `dojo.AsyncClient` too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from dojo import rpcs
from dojo.service import ServiceClient
from dojo.uploads import (
    CHUNK_BYTES,
    Progress,
    UploadKind,
    chunks,
    derived_upload_id,
    file_digest,
)
from dojo.v1 import dataset_pb2

__all__ = [
    "CHUNK_BYTES",
    "DatasetMethods",
    "dataset_metadata",
    "dataset_messages",
    "derived_upload_id",
    "file_digest",
    "format_for",
]

FORMATS = {"npz": dataset_pb2.NPZ, "text": dataset_pb2.TEXT}


def format_for(path: str | os.PathLike[str], given: str | None = None) -> dataset_pb2.DatasetFormat:
    """NPZ for a .npz file, else TEXT, unless `given` ("npz" / "text") says."""
    name = (given or ("npz" if str(path).lower().endswith(".npz") else "text")).lower()
    if name not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {given!r}")
    return FORMATS[name]


def dataset_metadata(
    path: str | os.PathLike[str],
    dataset_id: str,
    *,
    parent: str,
    format: str | None,
    display_name: str,
    upload_id: str | None,
) -> dataset_pb2.UploadMetadata:
    """The upload's first message: the file's format, size and sha256, and the upload id
    (derived from them unless given, so running the same upload again resumes it)."""
    fmt = format_for(path, format)
    size, sha256 = file_digest(path)
    return dataset_pb2.UploadMetadata(
        parent=parent,
        dataset_id=dataset_id,
        format=fmt,
        size=size,
        sha256=sha256,
        upload_id=upload_id or derived_upload_id(parent, dataset_id, size, sha256),
        display_name=display_name,
    )


def dataset_messages(
    meta: dataset_pb2.UploadMetadata, f: BinaryIO, offset: int, on_progress: Progress | None
) -> Iterator[dataset_pb2.CreateDatasetRequest]:
    """The stream from `offset` on: the metadata, then the file's chunks."""
    meta.offset = offset
    yield dataset_pb2.CreateDatasetRequest(metadata=meta)
    for chunk in chunks(f, offset, meta.size, on_progress):
        yield dataset_pb2.CreateDatasetRequest(chunk=chunk)


def _dataset_of(done: dataset_pb2.UploadStatus) -> rpcs.Unary[dataset_pb2.Dataset]:
    return rpcs.get_dataset(done.dataset)


DATASET_UPLOAD = UploadKind(
    rpcs.Datasets,
    "CreateDataset",
    dataset_messages,
    rpcs.get_upload_status,
    _dataset_of,
    dataset_pb2.Dataset,
)


class DatasetMethods(ServiceClient):
    def create_dataset(
        self,
        path: str | os.PathLike[str],
        dataset_id: str,
        *,
        parent: str = "",
        format: str | None = None,
        display_name: str = "",
        upload_id: str | None = None,
        on_progress: Progress | None = None,
        timeout: float | None = None,
    ) -> dataset_pb2.Dataset:
        """Uploads `path` as organizations/{org}/datasets/{dataset_id}; resumes an earlier,
        interrupted upload of the same file. `timeout` bounds each stream (default: the
        config's timeout plus a second per MiB)."""
        meta = dataset_metadata(
            path,
            dataset_id,
            parent=parent,
            format=format,
            display_name=display_name,
            upload_id=upload_id,
        )
        return self._upload(DATASET_UPLOAD, meta, path, timeout, on_progress)

    def get_upload_status(
        self, upload_id: str, *, parent: str = "", timeout: float | None = None
    ) -> dataset_pb2.UploadStatus:
        return self._call(rpcs.get_upload_status(parent, upload_id), timeout)

    def get_dataset(self, name: str, *, timeout: float | None = None) -> dataset_pb2.Dataset:
        """`name` is organizations/{org}/datasets/{dataset}."""
        return self._call(rpcs.get_dataset(name), timeout)

    def list_datasets_page(
        self,
        *,
        parent: str = "",
        page_size: int = 50,
        page_token: str = "",
        timeout: float | None = None,
    ) -> dataset_pb2.ListDatasetsResponse:
        return self._call(rpcs.list_datasets(parent, page_size, page_token), timeout)

    def list_datasets(
        self, *, parent: str = "", page_size: int = 50, timeout: float | None = None
    ) -> Iterator[dataset_pb2.Dataset]:
        """Every dataset of the caller's organization, in id order, page by page."""
        return self._paged(
            lambda t: rpcs.list_datasets(parent, page_size, t), rpcs.datasets_of, timeout
        )

    def delete_dataset(self, name: str, *, timeout: float | None = None) -> None:
        self._call(rpcs.delete_dataset(name), timeout)
