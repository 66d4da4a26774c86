"""ModelService methods of the typed client (mixed into `dojo.client.Client`).

`create_model(path, "my-net")` uploads an .onnx file in chunks and returns the Model (the
graph's inputs, outputs and op counts); running the same upload again resumes it
(dojo.uploads: the loop datasets share). A job names the model in `model: {onnx: NAME}`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from functools import cached_property
from typing import BinaryIO

import grpc

from dojo.errors import NotFoundError
from dojo.uploads import Progress, chunks, derived_upload_id, file_digest, resumable_upload
from dojo.v1 import model_pb2, model_pb2_grpc


class ModelMethods:
    """Needs what ServiceClient gives: `_channel`, `_metadata`, `_read`, `_act`, `_error`,
    `_timeout`."""

    _channel: grpc.Channel
    _metadata: tuple[tuple[str, str], ...]

    @cached_property
    def _models(self) -> model_pb2_grpc.ModelServiceStub:
        return model_pb2_grpc.ModelServiceStub(self._channel)

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
        size, sha256 = file_digest(path)
        upload_id = upload_id or derived_upload_id(parent, f"model:{model_id}", size, sha256)
        deadline = timeout or (self._timeout(None) + size / 2**20)  # type: ignore[attr-defined]
        meta = model_pb2.ModelUploadMetadata(
            parent=parent,
            model_id=model_id,
            size=size,
            sha256=sha256,
            upload_id=upload_id,
            display_name=display_name,
        )

        def send(f: BinaryIO, offset: int) -> model_pb2.Model:
            meta.offset = offset
            answer = self._models.CreateModel(
                _messages(meta, f, offset, size, on_progress),
                timeout=deadline,
                metadata=self._metadata,
            )
            if not isinstance(answer, model_pb2.Model):
                raise TypeError(f"expected a Model, got {type(answer).__name__}")
            return answer

        return resumable_upload(
            path,
            size,
            status=lambda: self._model_status(parent, upload_id),
            finished=lambda done: self.get_model(done.model),
            send=send,
            error=self._error,  # type: ignore[attr-defined]
            on_progress=on_progress,
        )

    def _model_status(self, parent: str, upload_id: str) -> model_pb2.ModelUploadStatus | None:
        try:
            return self.get_model_upload_status(upload_id, parent=parent)
        except NotFoundError:
            return None

    def get_model_upload_status(
        self, upload_id: str, *, parent: str = "", timeout: float | None = None
    ) -> model_pb2.ModelUploadStatus:
        request = model_pb2.GetModelUploadStatusRequest(parent=parent, upload_id=upload_id)
        return self._read(  # type: ignore[attr-defined, no-any-return]
            self._models.GetUploadStatus, request, model_pb2.ModelUploadStatus, timeout
        )

    def get_model(self, name: str, *, timeout: float | None = None) -> model_pb2.Model:
        """`name` is organizations/{org}/models/{model}."""
        request = model_pb2.GetModelRequest(name=name)
        return self._read(  # type: ignore[attr-defined, no-any-return]
            self._models.GetModel, request, model_pb2.Model, timeout
        )

    def list_models_page(
        self,
        *,
        parent: str = "",
        page_size: int = 50,
        page_token: str = "",
        timeout: float | None = None,
    ) -> model_pb2.ListModelsResponse:
        request = model_pb2.ListModelsRequest(
            parent=parent, page_size=page_size, page_token=page_token
        )
        return self._read(  # type: ignore[attr-defined, no-any-return]
            self._models.ListModels, request, model_pb2.ListModelsResponse, timeout
        )

    def list_models(
        self, *, parent: str = "", page_size: int = 50, timeout: float | None = None
    ) -> Iterator[model_pb2.Model]:
        """Every model of the caller's organization, in id order, page by page."""
        token = ""
        while True:
            page = self.list_models_page(
                parent=parent, page_size=page_size, page_token=token, timeout=timeout
            )
            yield from page.models
            token = page.next_page_token
            if not token:
                return

    def delete_model(self, name: str, *, timeout: float | None = None) -> None:
        request = model_pb2.DeleteModelRequest(name=name)
        self._act(  # type: ignore[attr-defined]
            self._models.DeleteModel, request, model_pb2.DeleteModelResponse, timeout
        )


def _messages(
    meta: model_pb2.ModelUploadMetadata,
    f: BinaryIO,
    offset: int,
    size: int,
    on_progress: Progress | None,
) -> Iterator[model_pb2.CreateModelRequest]:
    yield model_pb2.CreateModelRequest(metadata=meta)
    for chunk in chunks(f, offset, size, on_progress):
        yield model_pb2.CreateModelRequest(chunk=chunk)
