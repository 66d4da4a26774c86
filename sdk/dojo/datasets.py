"""DatasetService methods of the typed client (mixed into `dojo.client.Client`).

`create_dataset(path, "my-data")` uploads a file in chunks and returns the Dataset; running
the same upload again resumes it (dojo.uploads: the loop models share).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from typing import BinaryIO

import grpc

from dojo.errors import NotFoundError
from dojo.uploads import (
    CHUNK_BYTES,
    Progress,
    chunks,
    derived_upload_id,
    file_digest,
    resumable_upload,
)
from dojo.v1 import dataset_pb2, dataset_pb2_grpc

__all__ = ["CHUNK_BYTES", "DatasetMethods", "derived_upload_id", "file_digest", "format_for"]

FORMATS = {"npz": dataset_pb2.NPZ, "text": dataset_pb2.TEXT}


def format_for(path: str | os.PathLike[str], given: str | None = None) -> dataset_pb2.DatasetFormat:
    """NPZ for a .npz file, else TEXT, unless `given` ("npz" / "text") says."""
    name = (given or ("npz" if str(path).lower().endswith(".npz") else "text")).lower()
    if name not in FORMATS:
        raise ValueError(f"format must be one of {sorted(FORMATS)}, got {given!r}")
    return FORMATS[name]


class DatasetMethods:
    """Needs what ServiceClient gives: `_channel`, `_metadata`, `_read`, `_act`, `_once`,
    `_error`, `_timeout`."""

    _channel: grpc.Channel
    _metadata: tuple[tuple[str, str], ...]

    @cached_property
    def _datasets(self) -> dataset_pb2_grpc.DatasetServiceStub:
        return dataset_pb2_grpc.DatasetServiceStub(self._channel)

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
        fmt = format_for(path, format)
        size, sha256 = file_digest(path)
        upload_id = upload_id or derived_upload_id(parent, dataset_id, size, sha256)
        deadline = timeout or (self._timeout(None) + size / 2**20)  # type: ignore[attr-defined]
        meta = dataset_pb2.UploadMetadata(
            parent=parent,
            dataset_id=dataset_id,
            format=fmt,
            size=size,
            sha256=sha256,
            upload_id=upload_id,
            display_name=display_name,
        )

        def send(f: BinaryIO, offset: int) -> dataset_pb2.Dataset:
            meta.offset = offset
            answer = self._datasets.CreateDataset(
                _messages(meta, f, offset, size, on_progress),
                timeout=deadline,
                metadata=self._metadata,
            )
            if not isinstance(answer, dataset_pb2.Dataset):
                raise TypeError(f"expected a Dataset, got {type(answer).__name__}")
            return answer

        return resumable_upload(
            path,
            size,
            status=lambda: self._status(parent, upload_id),
            finished=lambda done: self.get_dataset(done.dataset),
            send=send,
            error=self._error,  # type: ignore[attr-defined]
            on_progress=on_progress,
        )

    def _status(self, parent: str, upload_id: str) -> dataset_pb2.UploadStatus | None:
        try:
            return self.get_upload_status(upload_id, parent=parent)
        except NotFoundError:
            return None

    def get_upload_status(
        self, upload_id: str, *, parent: str = "", timeout: float | None = None
    ) -> dataset_pb2.UploadStatus:
        request = dataset_pb2.GetUploadStatusRequest(parent=parent, upload_id=upload_id)
        return self._read(  # type: ignore[attr-defined, no-any-return]
            self._datasets.GetUploadStatus, request, dataset_pb2.UploadStatus, timeout
        )

    def get_dataset(self, name: str, *, timeout: float | None = None) -> dataset_pb2.Dataset:
        """`name` is organizations/{org}/datasets/{dataset}."""
        request = dataset_pb2.GetDatasetRequest(name=name)
        return self._read(  # type: ignore[attr-defined, no-any-return]
            self._datasets.GetDataset, request, dataset_pb2.Dataset, timeout
        )

    def list_datasets_page(
        self,
        *,
        parent: str = "",
        page_size: int = 50,
        page_token: str = "",
        timeout: float | None = None,
    ) -> dataset_pb2.ListDatasetsResponse:
        request = dataset_pb2.ListDatasetsRequest(
            parent=parent, page_size=page_size, page_token=page_token
        )
        return self._read(  # type: ignore[attr-defined, no-any-return]
            self._datasets.ListDatasets, request, dataset_pb2.ListDatasetsResponse, timeout
        )

    def list_datasets(
        self, *, parent: str = "", page_size: int = 50, timeout: float | None = None
    ) -> Iterator[dataset_pb2.Dataset]:
        """Every dataset of the caller's organization, in id order, page by page."""
        token = ""
        while True:
            page = self.list_datasets_page(
                parent=parent, page_size=page_size, page_token=token, timeout=timeout
            )
            yield from page.datasets
            token = page.next_page_token
            if not token:
                return

    def delete_dataset(self, name: str, *, timeout: float | None = None) -> None:
        request = dataset_pb2.DeleteDatasetRequest(name=name)
        self._act(  # type: ignore[attr-defined]
            self._datasets.DeleteDataset, request, dataset_pb2.DeleteDatasetResponse, timeout
        )


def _messages(
    meta: dataset_pb2.UploadMetadata,
    f: BinaryIO,
    offset: int,
    size: int,
    on_progress: Progress | None,
) -> Iterator[dataset_pb2.CreateDatasetRequest]:
    yield dataset_pb2.CreateDatasetRequest(metadata=meta)
    for chunk in chunks(f, offset, size, on_progress):
        yield dataset_pb2.CreateDatasetRequest(chunk=chunk)
