"""ArtifactService methods of the typed client (mixed into `dojo.client.Client`).

`list_artifacts("my-job")` lists what a job that trained left behind;
`download_artifact(name, path)` streams one into a file and checks its sha256 against the
header the server sent first (a mismatch leaves no file); `download_job_artifacts(job, dir)`
does that for each of the job's artifacts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc

from dojo import rpcs
from dojo.service import ServiceClient
from dojo.streams import DOWNLOAD_TIMEOUT, ChecksumError, Receiving
from dojo.v1 import artifact_pb2

__all__ = ["DOWNLOAD_TIMEOUT", "ArtifactMethods", "ChecksumError", "Progress", "artifact_id"]

Progress = Callable[[int, int], None]  # (bytes received, total)


def artifact_id(name: str) -> str:
    """organizations/o/jobs/j/artifacts/model.onnx → model.onnx (a plain file name: never
    a path the server could steer out of the download folder)."""
    last = name.rsplit("/", 1)[-1]
    if not last or last.startswith(".") or "\\" in last:
        raise ValueError(f"not an artifact name: {name!r}")
    return last


def part_path(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """The download's target and the temporary file beside it the bytes go to first."""
    target = Path(path)
    return target, target.with_name(f".{target.name}.part")


class ArtifactMethods(ServiceClient):
    def list_artifacts_page(
        self, job: str, *, page_size: int = 50, page_token: str = "", timeout: float | None = None
    ) -> artifact_pb2.ListArtifactsResponse:
        """`job` as get_job takes it: organizations/{org}/jobs/{ref}, an id, a name, a prefix."""
        return self._call(rpcs.list_artifacts(job, page_size, page_token), timeout)

    def list_artifacts(
        self, job: str, *, page_size: int = 50, timeout: float | None = None
    ) -> Iterator[artifact_pb2.Artifact]:
        """Every artifact of the job, in name order, page by page."""
        return self._paged(
            lambda t: rpcs.list_artifacts(job, page_size, t), rpcs.artifacts_of, timeout
        )

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
        target, tmp = part_path(path)
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
        try:
            stream = self._stub_of(rpcs.Artifacts).DownloadArtifact(
                request,
                timeout=DOWNLOAD_TIMEOUT if timeout is None else timeout,
                metadata=self._metadata,
            )
            receiving = Receiving(name, next(stream))
            with open(tmp, "wb") as f:
                for message in stream:
                    receiving.take(message, f)
                    if on_progress:
                        on_progress(receiving.received, receiving.header.size_bytes)
        except grpc.RpcError as exc:
            raise self._error(exc) from None
        return receiving.check()

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
