"""ArtifactService servicer: authorize (each method's @rpc action), call the artifacts
facade, map. DojoErrors raised here become gRPC statuses in dojocloud.api.interceptors."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing
from typing import Any

import grpc

from dojo.v1 import artifact_pb2, artifact_pb2_grpc
from dojocloud.api import mappers
from dojocloud.api.auth import rpc
from dojocloud.api.offload import in_stream_thread, iterate
from dojocloud.artifacts import facade as artifacts
from dojocloud.common.errors import NotFound
from dojocloud.tenancy.facade import Action, Principal

CHUNK = 1024 * 1024  # the proto's limit per message


class ArtifactService(artifact_pb2_grpc.ArtifactServiceServicer):
    @rpc(Action.ARTIFACTS_READ)
    def ListArtifacts(
        self,
        request: artifact_pb2.ListArtifactsRequest,
        context: grpc.ServicerContext,
        principal: Principal,
    ) -> artifact_pb2.ListArtifactsResponse:
        rows, token = artifacts.list_artifacts(
            principal, request.parent, page_size=request.page_size, page_token=request.page_token
        )
        return artifact_pb2.ListArtifactsResponse(
            artifacts=[artifact_to_proto(a) for a in rows], next_page_token=token
        )

    @rpc(Action.ARTIFACTS_READ)
    async def DownloadArtifact(
        self,
        request: artifact_pb2.DownloadArtifactRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        principal: Principal,
    ) -> AsyncIterator[artifact_pb2.DownloadArtifactResponse]:
        # A coroutine on the server's loop; each read of object storage in the stream pool.
        artifact = await in_stream_thread(artifacts.get_artifact, principal, request.name)
        try:
            chunks = await in_stream_thread(_opened, artifact)
        except FileNotFoundError:  # pruned or lost between the row and the read
            raise NotFound(artifact.resource_name) from None
        yield artifact_pb2.DownloadArtifactResponse(header=artifact_to_proto(artifact))
        async with aclosing(iterate(chunks)) as parts:
            async for chunk in parts:
                for start in range(0, len(chunk), CHUNK):
                    yield artifact_pb2.DownloadArtifactResponse(chunk=chunk[start : start + CHUNK])


def _opened(artifact: artifacts.Artifact) -> Iterator[bytes]:
    """The artifact's chunks, its object opened now (FileNotFoundError here if it is gone)."""
    chunks = iter(artifacts.open_artifact(artifact))
    try:
        first = next(chunks)
    except StopIteration:
        return iter(())
    return itertools.chain([first], chunks)


def artifact_to_proto(a: artifacts.Artifact) -> artifact_pb2.Artifact:
    return artifact_pb2.Artifact(
        name=a.resource_name,
        size_bytes=a.size_bytes,
        sha256=a.sha256,
        content_type=a.content_type,
        create_time=mappers.timestamp(a.created_at),
        expire_time=mappers.timestamp(a.expires_at),
    )


def add_artifact_service(server: grpc.Server) -> None:
    artifact_pb2_grpc.add_ArtifactServiceServicer_to_server(ArtifactService(), server)
