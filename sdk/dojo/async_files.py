"""DatasetService, ModelService and ArtifactService methods of `dojo.AsyncClient`: the
resumable uploads (dojo.uploads), downloads checked against their sha256 (dojo.streams),
and the paged lists as async iterators — built from the same requests as the sync mixins.

File reads and writes stay synchronous: a chunk is at most 1 MiB, read between sends.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import grpc

from dojo import rpcs
from dojo.artifacts import Progress, artifact_id, part_path
from dojo.async_service import AsyncServiceClient
from dojo.datasets import DATASET_UPLOAD, dataset_metadata
from dojo.models import MODEL_UPLOAD, model_metadata
from dojo.streams import DOWNLOAD_TIMEOUT, Receiving
from dojo.v1 import artifact_pb2, dataset_pb2, model_pb2


class AsyncFileMethods(AsyncServiceClient):
    # --- DatasetService -------------------------------------------------------------------

    async def create_dataset(
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
        """Uploads `path` as organizations/{org}/datasets/{dataset_id}, resuming an earlier
        upload of the same file (see `dojo.Client.create_dataset`)."""
        meta = await asyncio.to_thread(  # hashing the file must not stall the loop
            dataset_metadata,
            path,
            dataset_id,
            parent=parent,
            format=format,
            display_name=display_name,
            upload_id=upload_id,
        )
        return await self._upload(DATASET_UPLOAD, meta, path, timeout, on_progress)

    async def get_upload_status(
        self, upload_id: str, *, parent: str = "", timeout: float | None = None
    ) -> dataset_pb2.UploadStatus:
        return await self._call(rpcs.get_upload_status(parent, upload_id), timeout)

    async def get_dataset(self, name: str, *, timeout: float | None = None) -> dataset_pb2.Dataset:
        return await self._call(rpcs.get_dataset(name), timeout)

    async def list_datasets_page(
        self,
        *,
        parent: str = "",
        page_size: int = 50,
        page_token: str = "",
        timeout: float | None = None,
    ) -> dataset_pb2.ListDatasetsResponse:
        return await self._call(rpcs.list_datasets(parent, page_size, page_token), timeout)

    def list_datasets(
        self, *, parent: str = "", page_size: int = 50, timeout: float | None = None
    ) -> AsyncIterator[dataset_pb2.Dataset]:
        return self._paged(
            lambda t: rpcs.list_datasets(parent, page_size, t), rpcs.datasets_of, timeout
        )

    async def delete_dataset(self, name: str, *, timeout: float | None = None) -> None:
        await self._call(rpcs.delete_dataset(name), timeout)

    # --- ModelService ---------------------------------------------------------------------

    async def create_model(
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
        """Uploads the .onnx file `path` as organizations/{org}/models/{model_id}, resuming
        an earlier upload of the same file (see `dojo.Client.create_model`)."""
        meta = await asyncio.to_thread(
            model_metadata,
            path,
            model_id,
            parent=parent,
            display_name=display_name,
            upload_id=upload_id,
        )
        return await self._upload(MODEL_UPLOAD, meta, path, timeout, on_progress)

    async def get_model_upload_status(
        self, upload_id: str, *, parent: str = "", timeout: float | None = None
    ) -> model_pb2.ModelUploadStatus:
        return await self._call(rpcs.get_model_upload_status(parent, upload_id), timeout)

    async def get_model(self, name: str, *, timeout: float | None = None) -> model_pb2.Model:
        return await self._call(rpcs.get_model(name), timeout)

    async def list_models_page(
        self,
        *,
        parent: str = "",
        page_size: int = 50,
        page_token: str = "",
        timeout: float | None = None,
    ) -> model_pb2.ListModelsResponse:
        return await self._call(rpcs.list_models(parent, page_size, page_token), timeout)

    def list_models(
        self, *, parent: str = "", page_size: int = 50, timeout: float | None = None
    ) -> AsyncIterator[model_pb2.Model]:
        return self._paged(
            lambda t: rpcs.list_models(parent, page_size, t), rpcs.models_of, timeout
        )

    async def delete_model(self, name: str, *, timeout: float | None = None) -> None:
        await self._call(rpcs.delete_model(name), timeout)

    # --- ArtifactService ------------------------------------------------------------------

    async def list_artifacts_page(
        self, job: str, *, page_size: int = 50, page_token: str = "", timeout: float | None = None
    ) -> artifact_pb2.ListArtifactsResponse:
        return await self._call(rpcs.list_artifacts(job, page_size, page_token), timeout)

    def list_artifacts(
        self, job: str, *, page_size: int = 50, timeout: float | None = None
    ) -> AsyncIterator[artifact_pb2.Artifact]:
        return self._paged(
            lambda t: rpcs.list_artifacts(job, page_size, t), rpcs.artifacts_of, timeout
        )

    async def download_artifact(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        on_progress: Progress | None = None,
        timeout: float | None = None,
    ) -> artifact_pb2.Artifact:
        """Streams the artifact into `path`, renamed into place once its sha256 matches
        (ChecksumError otherwise; see `dojo.Client.download_artifact`)."""
        target, tmp = part_path(path)
        request = artifact_pb2.DownloadArtifactRequest(name=name)
        try:
            stream = self._stub_of(rpcs.Artifacts).DownloadArtifact(
                request,
                timeout=DOWNLOAD_TIMEOUT if timeout is None else timeout,
                metadata=self._metadata,
            )
            messages = aiter(stream)
            receiving = Receiving(name, await anext(messages))
            with open(tmp, "wb") as f:
                async for message in messages:
                    receiving.take(message, f)
                    if on_progress:
                        on_progress(receiving.received, receiving.header.size_bytes)
            header = receiving.check()
            os.replace(tmp, target)
        except grpc.RpcError as exc:
            raise self._error(exc) from None
        finally:
            tmp.unlink(missing_ok=True)
        return header

    async def download_job_artifacts(
        self,
        job: str,
        directory: str | os.PathLike[str],
        *,
        on_progress: Callable[[artifact_pb2.Artifact, int], None] | None = None,
        timeout: float | None = None,
    ) -> list[Path]:
        """Every artifact of the job into `directory` (created if missing), each checked."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for artifact in [a async for a in self.list_artifacts(job, timeout=timeout)]:
            target = out / artifact_id(artifact.name)

            def progress(done: int, _total: int, a: artifact_pb2.Artifact = artifact) -> None:
                if on_progress:
                    on_progress(a, done)

            await self.download_artifact(
                artifact.name, target, on_progress=progress, timeout=timeout
            )
            written.append(target)
        return written
