"""ArtifactService methods of the typed client (mixed into `dojo.client.Client`).

`list_artifacts("my-job")` lists what a job that trained left behind;
`download_artifact(name, path)` streams one into a file and checks its sha256 against the
header the server sent first (a mismatch leaves no file); `download_job_artifacts(job, dir)`
does that for each of the job's artifacts.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path

import grpc

from dojo.errors import DojoError
from dojo.v1 import artifact_pb2, artifact_pb2_grpc

Progress = Callable[[int, int], None]  # (bytes received, total)
DOWNLOAD_TIMEOUT = 3600.0  # deadline of one download stream unless `timeout` is given


class ChecksumError(DojoError):
    """A downloaded artifact's bytes do not match the sha256 its header announced."""


def artifact_id(name: str) -> str:
    """organizations/o/jobs/j/artifacts/model.onnx → model.onnx (a plain file name: never
    a path the server could steer out of the download folder)."""
    last = name.rsplit("/", 1)[-1]
    if not last or last.startswith(".") or "\\" in last:
        raise ValueError(f"not an artifact name: {name!r}")
    return last


class ArtifactMethods:
    """Needs what ServiceClient gives: `_channel`, `_metadata`, `_read`, `_error`, `_timeout`."""

    _channel: grpc.Channel
    _metadata: tuple[tuple[str, str], ...]

    @cached_property
    def _artifacts(self) -> artifact_pb2_grpc.ArtifactServiceStub:
        return artifact_pb2_grpc.ArtifactServiceStub(self._channel)

    def list_artifacts_page(
        self, job: str, *, page_size: int = 50, page_token: str = "", timeout: float | None = None
    ) -> artifact_pb2.ListArtifactsResponse:
        """`job` as get_job takes it: organizations/{org}/jobs/{ref}, an id, a name, a prefix."""
        request = artifact_pb2.ListArtifactsRequest(
            parent=job, page_size=page_size, page_token=page_token
        )
        return self._read(  # type: ignore[attr-defined, no-any-return]
            self._artifacts.ListArtifacts, request, artifact_pb2.ListArtifactsResponse, timeout
        )

    def list_artifacts(
        self, job: str, *, page_size: int = 50, timeout: float | None = None
    ) -> Iterator[artifact_pb2.Artifact]:
        """Every artifact of the job, in name order, page by page."""
        token = ""
        while True:
            page = self.list_artifacts_page(
                job, page_size=page_size, page_token=token, timeout=timeout
            )
            yield from page.artifacts
            token = page.next_page_token
            if not token:
                return

    def download_artifact(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        on_progress: Progress | None = None,
        timeout: float | None = None,
    ) -> artifact_pb2.Artifact:
        """Streams the artifact `name` into `path` (written to a temporary file beside it,
        renamed into place once its sha256 matches); returns the header. ChecksumError
        when the bytes do not match, a DojoError for what the server refused."""
        target = Path(path)
        tmp = target.with_name(f".{target.name}.part")
        try:
            header = self._stream_to(name, tmp, on_progress, timeout)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return header

    def _stream_to(
        self, name: str, tmp: Path, on_progress: Progress | None, timeout: float | None
    ) -> artifact_pb2.Artifact:
        request = artifact_pb2.DownloadArtifactRequest(name=name)
        deadline = DOWNLOAD_TIMEOUT if timeout is None else timeout
        try:
            stream = self._artifacts.DownloadArtifact(
                request, timeout=deadline, metadata=self._metadata
            )
            first = next(stream)
            header: artifact_pb2.Artifact = first.header
            digest, received = hashlib.sha256(), 0
            with open(tmp, "wb") as f:
                for message in stream:
                    f.write(message.chunk)
                    digest.update(message.chunk)
                    received += len(message.chunk)
                    if on_progress:
                        on_progress(received, header.size_bytes)
        except grpc.RpcError as exc:
            raise self._error(exc) from None  # type: ignore[attr-defined]
        if received != header.size_bytes or digest.hexdigest() != header.sha256:
            raise ChecksumError(
                f"{name}: received {received} bytes with sha256 {digest.hexdigest()}, "
                f"expected {header.size_bytes} bytes with sha256 {header.sha256}"
            )
        return header

    def download_job_artifacts(
        self,
        job: str,
        directory: str | os.PathLike[str],
        *,
        on_progress: Callable[[artifact_pb2.Artifact, int], None] | None = None,
        timeout: float | None = None,
    ) -> list[Path]:
        """Every artifact of the job into `directory` (created if missing), each checked
        against its sha256; `on_progress(artifact, bytes received)` as bytes arrive."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for artifact in list(self.list_artifacts(job, timeout=timeout)):
            target = out / artifact_id(artifact.name)

            def progress(done: int, _total: int, a: artifact_pb2.Artifact = artifact) -> None:
                if on_progress:
                    on_progress(a, done)

            self.download_artifact(artifact.name, target, on_progress=progress, timeout=timeout)
            written.append(target)
        return written
