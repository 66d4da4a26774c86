"""ModelService methods of the typed client (mixed into `dojo.client.Client`).

`create_model(path, "my-net")` uploads an .onnx file in chunks and returns the Model (the
graph's inputs, outputs and op counts); running the same upload again resumes it
(dojo.uploads: the loop datasets share). A job names the model in `model: {onnx: NAME}`.
The upload's metadata and messages are built here for `dojo.AsyncClient` too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

from dojo import rpcs
from dojo.service import ServiceClient
from dojo.uploads import Progress, UploadKind, chunks, derived_upload_id, file_digest
from dojo.v1 import model_pb2


def model_metadata(
    path: str | os.PathLike[str],
    model_id: str,
    *,
    parent: str,
    display_name: str,
    upload_id: str | None,
) -> model_pb2.ModelUploadMetadata:
    """The upload's first message: size, sha256 and the (derived unless given) upload id."""
    size, sha256 = file_digest(path)
    return model_pb2.ModelUploadMetadata(
        parent=parent,
        model_id=model_id,
        size=size,
        sha256=sha256,
        upload_id=upload_id or derived_upload_id(parent, f"model:{model_id}", size, sha256),
        display_name=display_name,
    )


def model_messages(
    meta: model_pb2.ModelUploadMetadata, f: BinaryIO, offset: int, on_progress: Progress | None
) -> Iterator[model_pb2.CreateModelRequest]:
    """The stream from `offset` on: the metadata, then the file's chunks."""
    meta.offset = offset
    yield model_pb2.CreateModelRequest(metadata=meta)
    for chunk in chunks(f, offset, meta.size, on_progress):
        yield model_pb2.CreateModelRequest(chunk=chunk)


def _model_of(done: model_pb2.ModelUploadStatus) -> rpcs.Unary[model_pb2.Model]:
    return rpcs.get_model(done.model)


MODEL_UPLOAD = UploadKind(
    rpcs.Models,
    "CreateModel",
    model_messages,
    rpcs.get_model_upload_status,
    _model_of,
    model_pb2.Model,
)


class ModelMethods(ServiceClient):
    def create_model(
        self,
        path: str | os.PathLike[str],
        model_id: str,
        *,
        parent: str = "",
        display_name: str = "",
        upload_id: str | None = None,
        on_progress: Progress | None = None,
        timeout: float | None = None,
    ) -> model_pb2.Model:
        """Uploads the .onnx file `path` as organizations/{org}/models/{model_id}; resumes an
        earlier, interrupted upload of the same file. `timeout` bounds each stream (default:
        the config's timeout plus a second per MiB)."""
        meta = model_metadata(
            path, model_id, parent=parent, display_name=display_name, upload_id=upload_id
        )
        return self._upload(MODEL_UPLOAD, meta, path, timeout, on_progress)

    def get_model_upload_status(
        self, upload_id: str, *, parent: str = "", timeout: float | None = None
    ) -> model_pb2.ModelUploadStatus:
        return self._call(rpcs.get_model_upload_status(parent, upload_id), timeout)

    def get_model(self, name: str, *, timeout: float | None = None) -> model_pb2.Model:
        """`name` is organizations/{org}/models/{model}."""
        return self._call(rpcs.get_model(name), timeout)

    def list_models_page(
        self,
        *,
        parent: str = "",
        page_size: int = 50,
        page_token: str = "",
        timeout: float | None = None,
    ) -> model_pb2.ListModelsResponse:
        return self._call(rpcs.list_models(parent, page_size, page_token), timeout)

    def list_models(
        self, *, parent: str = "", page_size: int = 50, timeout: float | None = None
    ) -> Iterator[model_pb2.Model]:
        """Every model of the caller's organization, in id order, page by page."""
        return self._paged(
            lambda t: rpcs.list_models(parent, page_size, t), rpcs.models_of, timeout
        )

    def delete_model(self, name: str, *, timeout: float | None = None) -> None:
        self._call(rpcs.delete_model(name), timeout)
