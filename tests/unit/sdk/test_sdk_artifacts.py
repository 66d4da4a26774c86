"""The SDK's ArtifactService methods against a fake servicer on a real gRPC server (the
network edge only): every RPC has a method, pages are followed, a download whose bytes do not
match the header's sha256 raises ChecksumError and leaves no file, and a name that would
leave the download folder is refused."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from dojo import AsyncClient, errors
from dojo.artifacts import ChecksumError, artifact_id
from dojo.client import Client
from dojo.config import ClientConfig
from dojo.v1 import artifact_pb2, artifact_pb2_grpc
from tests.support.grpc_server import serving_fake

JOB = "organizations/acme/jobs/j1"
GOOD = b"weights" * 300_000  # over 2 MiB: several chunks
BAD_SHA = hashlib.sha256(b"something else").hexdigest()


class FakeArtifacts(artifact_pb2_grpc.ArtifactServiceServicer):
    def __init__(self) -> None:
        self.items = {
            f"{JOB}/artifacts/a.bin": (GOOD, hashlib.sha256(GOOD).hexdigest()),
            f"{JOB}/artifacts/b.bin": (GOOD, hashlib.sha256(GOOD).hexdigest()),
            f"{JOB}/artifacts/bad.bin": (GOOD, BAD_SHA),
        }

    def ListArtifacts(
        self, request: artifact_pb2.ListArtifactsRequest, context: grpc.ServicerContext
    ) -> artifact_pb2.ListArtifactsResponse:
        names = sorted(n for n in self.items if "bad" not in n)
        start = int(request.page_token or 0)
        page = names[start : start + request.page_size]
        more = start + request.page_size < len(names)
        return artifact_pb2.ListArtifactsResponse(
            artifacts=[self._header(n) for n in page],
            next_page_token=str(start + request.page_size) if more else "",
        )

    def _header(self, name: str) -> artifact_pb2.Artifact:
        data, sha = self.items[name]
        return artifact_pb2.Artifact(name=name, size_bytes=len(data), sha256=sha)

    def DownloadArtifact(
        self, request: artifact_pb2.DownloadArtifactRequest, context: grpc.ServicerContext
    ) -> Iterator[artifact_pb2.DownloadArtifactResponse]:
        if request.name not in self.items:
            context.abort(grpc.StatusCode.NOT_FOUND, request.name)
        yield artifact_pb2.DownloadArtifactResponse(header=self._header(request.name))
        data = self.items[request.name][0]
        for i in range(0, len(data), 1024 * 1024):
            yield artifact_pb2.DownloadArtifactResponse(chunk=data[i : i + 1024 * 1024])


@pytest.fixture
def client() -> Iterator[Client]:
    with (
        serving_fake(
            artifact_pb2_grpc.add_ArtifactServiceServicer_to_server, FakeArtifacts()
        ) as address,
        Client(ClientConfig(server=address, api_key="k", timeout=10)) as c,
    ):
        yield c


def test_lists_every_page_and_downloads_checked(client: Client, tmp_path: Path) -> None:
    assert [artifact_id(a.name) for a in client.list_artifacts(JOB, page_size=1)] == [
        "a.bin",
        "b.bin",
    ]
    seen: list[int] = []
    written = client.download_job_artifacts(
        JOB, tmp_path / "out", on_progress=lambda a, n: seen.append(n)
    )
    assert [p.name for p in written] == ["a.bin", "b.bin"]
    assert all(p.read_bytes() == GOOD for p in written)
    assert seen[-1] == len(GOOD) and len(seen) >= 6


def test_a_checksum_mismatch_leaves_no_file(client: Client, tmp_path: Path) -> None:
    with pytest.raises(ChecksumError, match="expected"):
        client.download_artifact(f"{JOB}/artifacts/bad.bin", tmp_path / "bad.bin")
    assert list(tmp_path.iterdir()) == []


def test_the_async_client_downloads_the_same_way(tmp_path: Path) -> None:
    async def main() -> list[Path]:
        with serving_fake(
            artifact_pb2_grpc.add_ArtifactServiceServicer_to_server, FakeArtifacts()
        ) as address:
            async with AsyncClient(ClientConfig(server=address, api_key="k", timeout=10)) as c:
                listed = [artifact_id(a.name) async for a in c.list_artifacts(JOB, page_size=1)]
                assert listed == ["a.bin", "b.bin"]
                with pytest.raises(ChecksumError, match="expected"):
                    await c.download_artifact(f"{JOB}/artifacts/bad.bin", tmp_path / "bad.bin")
                assert list(tmp_path.iterdir()) == []  # nothing left of the bad one
                with pytest.raises(errors.NotFoundError):
                    await c.download_artifact(f"{JOB}/artifacts/none.bin", tmp_path / "x")
                return await c.download_job_artifacts(JOB, tmp_path / "out")

    written = asyncio.run(main())
    assert [p.name for p in written] == ["a.bin", "b.bin"]
    assert all(p.read_bytes() == GOOD for p in written)


@pytest.mark.parametrize("name", [f"{JOB}/artifacts/..", f"{JOB}/artifacts/", "a/.hidden"])
def test_names_that_would_leave_the_folder_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not an artifact name"):
        artifact_id(name)
